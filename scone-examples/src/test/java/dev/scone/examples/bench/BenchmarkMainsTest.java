package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The counting and matching benchmark mains run end to end at a tiny size (their figures are
 * not checked: benchmarks are not tests; what is checked is that they run and print their report).
 */
class BenchmarkMainsTest {

    private static String run(java.util.function.ToIntFunction<String[]> main, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            assertEquals(0, main.applyAsInt(args), bytes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void countingBenchmarkRunsAndChecksItsSpillingRun() {
        String out = run(CountingBenchmark::runExample, "--tokens", "200000", "--vocabulary", "1000", "--top-s",
                "1000", "--baseline-tokens", "20000", "--budget-mb", "64", "--spill-budget-mb", "1");
        assertTrue(out.contains("vocabulary identical: true"), out);
        assertTrue(out.contains("sort | uniq -c"), out);
    }

    @Test
    void matchingBenchmarkRunsAndAgreesWithTheNaiveProbe() {
        String out = run(MatchingBenchmark::runExample, "--vocab", "1000", "--fgrams", "5000", "--sample-tokens",
                "300000", "--tokens", "200000", "--phrases", "1000", "--min-count", "2", "--repeats", "1");
        assertTrue(out.toLowerCase(java.util.Locale.ROOT).contains("tokens/s"), out);
    }
}
