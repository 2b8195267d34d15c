package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.ChildJvm;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several processes on one store: no false refusal, and a file cut under a reader is an exception, not a crash. */
class StoreConcurrencyTest {

    private static final int SIZE = 400;
    private static final long SEED = 5;

    private static Path store(Path tmp) throws Exception {
        Path dir = tmp.resolve("store");
        StoreFixtures.write(dir, StoreFixtures.vocabulary(SIZE, SEED), StoreFixtures.vectors(SIZE, 6),
                VectorDtype.FLOAT32);
        return dir;
    }

    @Test
    void readersOpenAndReadAStoreThatAnotherProcessIsReading(@TempDir Path tmp) throws Exception {
        Path dir = store(tmp);
        StoreManifest m = StoreManifest.read(dir.resolve(StoreManifest.FILE_NAME));
        Path stop = tmp.resolve("stop");
        Process spinner = ChildJvm.start(LookupSpinner.class, Map.of(), List.of(), dir.toString(),
                Integer.toString(SIZE), Long.toString(SEED), stop.toString());
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(spinner.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.equals("READY")) {
                seen.append(line).append('\n');
            }
            assertEquals("READY", line, seen.toString());
            FgramVocabulary vocab = StoreFixtures.vocabulary(SIZE, SEED);
            float[] v = new float[StoreFixtures.D];
            // Each open checks the index file's checksum while the other process takes and releases
            // Chronicle's segment locks in it thousands of times per second.
            for (int i = 0; i < 40; i++) {
                try (FgramStore s = FgramStore.open(dir)) {
                    for (int id = 0; id < SIZE; id += 7) {
                        int[] g = vocab.tokens(id);
                        assertEquals(id, s.lookup(g, 0, g.length, v, 0), "open " + i + ", f-gram " + id);
                    }
                }
            }
            Files.createFile(stop);
            StringBuilder rest = new StringBuilder();
            while ((line = out.readLine()) != null) {
                rest.append(line).append('\n');
            }
            assertTrue(spinner.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, spinner.exitValue(), rest.toString());
            assertTrue(rest.toString().matches("(?s).*LOOKUPS=[1-9][0-9]*.*"), rest.toString());
        } finally {
            spinner.destroyForcibly();
        }
        // With every reader gone the index is byte for byte what the writer published.
        assertEquals(m.indexChecksum(), StoreLayout.crc32cOf(dir.resolve(StoreLayout.INDEX)) & 0xFFFFFFFFL);
    }

    @Test
    void aVectorFileCutUnderAnOpenStoreIsAnExceptionNamingFileAndRow(@TempDir Path tmp) throws Exception {
        Path dir = store(tmp);
        ChildJvm.Result r = ChildJvm.run(ShrinkingFileChild.class, Map.of(), List.of(), 120, dir.toString(),
                Integer.toString(SIZE), Long.toString(SEED), StoreLayout.VECTORS);
        assertEquals(0, r.exitCode(), "the JVM died: " + r.output());
        assertTrue(r.output().contains("REFUSED: ") && r.output().contains(StoreLayout.VECTORS)
                && r.output().contains("row "), r.output());
        assertFalse(r.output().contains("ALL FOUND"), r.output());
    }

    @Test
    void anIndexCutUnderAnOpenStoreIsAnExceptionNamingTheIndex(@TempDir Path tmp) throws Exception {
        Path dir = store(tmp);
        ChildJvm.Result r = ChildJvm.run(ShrinkingFileChild.class, Map.of(), List.of(), 120, dir.toString(),
                Integer.toString(SIZE), Long.toString(SEED), StoreLayout.INDEX);
        assertEquals(0, r.exitCode(), "the JVM died: " + r.output());
        assertTrue(r.output().contains("REFUSED: ") && r.output().contains(StoreLayout.INDEX), r.output());
    }
}
