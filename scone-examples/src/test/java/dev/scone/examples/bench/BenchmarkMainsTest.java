package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The counting, matching and vocabulary benchmark mains run end to end at a tiny size (their figures are
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
    void chronicleLookupBenchmarkRunsAndItsLayoutReadAgreesWithChronicleMap() {
        String out = run(ChronicleLookupBenchmark::runExample, "--entries", "20000", "--queries", "20000", "--segments",
                "0,1", "--passes", "1");
        assertTrue(out.contains("| hit |") && out.contains("| miss |"), out);
    }

    @Test
    void matchingBenchmarkRunsAndAgreesWithItsBaseline() {
        String out = run(MatchingBenchmark::runExample, "--vocab", "1000", "--fgrams", "5000", "--sample-tokens",
                "300000", "--tokens", "200000", "--phrases", "1000", "--min-count", "2", "--repeats", "1");
        assertTrue(out.toLowerCase(java.util.Locale.ROOT).contains("tokens/s"), out);
    }

    @Test
    void vocabularyBenchmarkRunsAtATinySize(@TempDir Path dir) {
        String out = run(VocabularyBenchmark::runExample, "--fgrams", "3000", "--vocab", "500", "--reads", "1000",
                "--work", dir.toString());
        assertTrue(out.contains("open (mapped)") && out.contains("LevelwiseMatcher from the mapped file")
                && out.contains("read whole onto the heap"), out);
    }

    @Test
    void matchingBenchmarkMatchesATokenIdFileWithAVocabularyFile(@TempDir Path dir) throws Exception {
        Path corpus = dir.resolve("text.tok");
        Random r = new Random(5L);
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(corpus, 20)) {
            for (int d = 0; d < 40; d++) {
                int[] doc = new int[r.nextInt(300)];
                for (int i = 0; i < doc.length; i++) {
                    doc[i] = r.nextInt(4) == 0 ? r.nextInt(20) : r.nextInt(3);
                }
                w.append(doc);
            }
            w.complete();
        }
        Path fgrams = dir.resolve("fgrams.bin");
        FgramVocabularyFile.write(FgramVocabulary.of(20, 3, List.of(new int[] {0, 1}, new int[] {1, 2},
                new int[] {0, 1, 2}, new int[] {2, 2}), new long[] {4, 3, 2, 1}), fgrams);
        String out = run(MatchingBenchmark::runExample, "--corpus", corpus.toString(), "--vocabulary",
                fgrams.toString(), "--repeats", "1", "--baseline-tokens", "1000");
        assertTrue(out.contains("(40 documents"), out);
        assertTrue(out.contains("LevelwiseMatcher equals the baseline on those tokens: true"), out);

        Path other = dir.resolve("other.bin");
        FgramVocabularyFile.write(FgramVocabulary.of(21, 3, List.of(new int[] {0, 1}), new long[] {1}), other);
        assertEquals(1, MatchingBenchmark.runExample(new String[] {"--corpus", corpus.toString(), "--vocabulary",
                other.toString()}));
        assertEquals(2, MatchingBenchmark.runExample(new String[] {"--corpus", corpus.toString()}));
    }
}
