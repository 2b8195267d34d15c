package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the store benchmark end to end on a tiny store (machinery, not speed). */
class StoreBenchmarkTest {

    @Test
    void runsOnATinyStore(@TempDir Path tmp) throws Exception {
        Path work = tmp.resolve("work");
        int status = StoreBenchmark.runExample(new String[] {"--entries", "3000", "--dim", "8", "--length", "16",
            "--passes", "1", "--batches", "1,4", "--dtypes", "BFLOAT16", "--dir", work.toString()});
        assertEquals(0, status);
        try (var s = Files.list(work)) {
            assertFalse(s.findAny().isPresent(), "the benchmark leaves its stores behind");
        }
    }
}
