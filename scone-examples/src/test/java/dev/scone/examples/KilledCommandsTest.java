package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.ChildJvm;
import dev.scone.fgram.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands killed mid-write (SIGKILL, in a child JVM): what they leave looks like no output (the
 * previous outputs stay whole, temporaries are hidden), and the next run removes their leftovers.
 */
class KilledCommandsTest {

    /** Every regular file under {@code dir} (relative name) and its SHA-256. */
    private static Map<String, String> contents(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), HexFormat.of().formatHex(
                        MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return out;
    }

    private static List<Path> list(Path dir, Predicate<String> name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> name.test(p.getFileName().toString())).toList();
        }
    }

    /** Starts the command line in a child JVM and kills it once {@code ready} holds (or it ends). */
    private static void killWhen(java.util.function.BooleanSupplier ready, String... args) throws Exception {
        Process p = ChildJvm.start(SconeCli.class, Map.of(), List.of(), args);
        p.getOutputStream().close();
        Thread drain = new Thread(() -> {
            try {
                p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException e) {
                // the child is gone
            }
        });
        drain.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && !ready.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(p.isAlive(), "the child finished before it could be killed mid-write");
        p.destroyForcibly(); // SIGKILL: no finally block, no shutdown hook
        p.waitFor(30, TimeUnit.SECONDS);
        drain.join();
    }

    private static boolean hiddenFolderHolds(Path parent, String prefix, String fileSuffix) {
        try {
            for (Path d : list(parent, n -> n.startsWith(prefix))) {
                try (Stream<Path> s = Files.walk(d)) {
                    if (s.anyMatch(f -> f.getFileName().toString().endsWith(fileSuffix))) {
                        return true;
                    }
                }
            }
        } catch (IOException e) {
            // folders come and go while the child works
        }
        return false;
    }

    @Test
    void aKilledTokenizeLeavesThePreviousSetWholeAndTheNextRunCleansUp(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("tokens");
        String[] args = {"tokenize", "--corpus", TestData.sotuDir().toString(), "--tokenizer",
            TestData.gpt2TokenizerJson().toString(), "--out", out.toString(), "--compact", "400", "--quiet"};
        assertEquals(0, CliRuns.run(args).status());
        Map<String, String> before = contents(out);
        assertEquals(List.of("all.tok", "compaction.cmp", "heldout.tok", "train.tok"), List.copyOf(before.keySet()));

        // killed once the new set is being written (its first token-id file is under way)
        killWhen(() -> hiddenFolderHolds(tmp, ".tokens.p", ".partial"), args);
        assertEquals(before, contents(out), "the previous outputs, whole: no mix of old and new");
        assertFalse(list(tmp, n -> n.startsWith(".tokens.")).isEmpty(), "the killed run's folder is hidden");

        CliRuns.Run again = CliRuns.run(args);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("left by an interrupted run"), "a log line says so:\n" + again.err());
        assertEquals(List.of(), list(tmp, n -> n.startsWith(".")), "no leftovers after the next run");
        assertEquals(before, contents(out), "the same outputs again");
    }

    @Test
    void aKilledCountLeavesNoVisibleSpillAndTheNextRunRemovesTheHiddenOnes(@TempDir Path tmp) throws Exception {
        Path tokens = tmp.resolve("tokens");
        assertEquals(0, CliRuns.run("tokenize", "--corpus", TestData.sotuDir().toString(), "--tokenizer",
                TestData.gpt2TokenizerJson().toString(), "--out", tokens.toString(), "--quiet").status());
        Path outDir = tmp.resolve("vocab");
        String[] args = {"count", "--train", tokens.resolve("train.tok").toString(), "--max-n", "5", "--min-count", "2",
            "--top-s", "5000", "--threads", "1", "--memory-mb", "1", "--out", outDir.resolve("fgrams.bin").toString()};
        Files.createDirectories(outDir);
        // killed once it has spilled a run to disk
        killWhen(() -> {
            try {
                return !list(outDir, n -> n.endsWith(".run")).isEmpty();
            } catch (IOException e) {
                return false;
            }
        }, args);
        assertEquals(List.of(), list(outDir, n -> !n.startsWith(".")), "nothing visible: no output, no spill");
        assertFalse(list(outDir, n -> n.startsWith(".scone-count.p") && n.endsWith(".run")).isEmpty());

        CliRuns.Run again = CliRuns.run(args);
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("left by an interrupted run"), "a log line says so:\n" + again.err());
        assertEquals(List.of(outDir.resolve("fgrams.bin")), list(outDir, n -> true));
    }
}
