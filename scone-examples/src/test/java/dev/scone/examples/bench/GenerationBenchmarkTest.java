package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.examples.SconeCli;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.testing.TestData;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStoreWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The generation benchmark runs on a tiny demo's exports and store and prints every figure it
 * promises (parsed, never compared with a speed), and refuses inputs that do not fit together with
 * exit status 2 and one line.
 */
class GenerationBenchmarkTest {

    private static final int CONTEXT = 16;

    @TempDir
    static Path tmp;

    private static Path demo;

    @BeforeAll
    static void tinyDemo() {
        demo = tmp.resolve("demo");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int status;
        try (PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            status = SconeCli.runExample(new String[] {"demo", "--data", TestData.dataDir().toString(), "--out",
                demo.toString(), "--max-documents", "6", "--held-out", "2", "--transfer", "2",
                "--spread-from", tmp.resolve("no-results.jsonl").toString(), "--compact", "300", "--top-s", "200",
                "--max-n", "3", "--tokens", "1024", "--context", Integer.toString(CONTEXT), "--batch", "4",
                "--embedding", "16", "--ffn", "32", "--eval-every", "16", "--eval-windows", "2", "--warmup", "1",
                "--generate", "2", "--quiet"});
        } finally {
            System.setOut(old);
        }
        assertEquals(0, status, bytes.toString(StandardCharsets.UTF_8));
    }

    /** What one run printed and returned. */
    private record Result(int status, String out, String err) {}

    private static Result run(String... args) throws Exception {
        GenerationBenchmark b = new GenerationBenchmark();
        new CommandLine(b).parseArgs(args);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = b.run(o, e);
        }
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The demo's inputs, with {@code more} appended; an input option in {@code more} replaces the demo's. */
    private static List<String> inputs(String... more) {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("--baseline", demo.resolve("models/baseline").toString());
        files.put("--scone", demo.resolve("models/scone").toString());
        files.put("--store", demo.resolve("store").toString());
        files.put("--prompt-from", demo.resolve("tokens/heldout.tok").toString());
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < more.length; i++) {
            if (files.containsKey(more[i])) {
                files.put(more[i], more[++i]);
            } else {
                rest.add(more[i]);
            }
        }
        List<String> a = new ArrayList<>();
        files.forEach((k, v) -> {
            a.add(k);
            a.add(v);
        });
        a.addAll(rest);
        return a;
    }

    private static final String NUM = "(-?[0-9]+\\.[0-9]+)";

    @Test
    void printsSpeedTimeSplitAndServingMemoryOfBothModels() throws Exception {
        int prompt = 12;
        int tokens = 8;
        Result r = run(inputs("--prompt-tokens", Integer.toString(prompt), "--tokens", Integer.toString(tokens),
                "--batch", "1,2", "--rounds", "2", "--no-cache-rounds", "1", "--warmup", "1", "--memory-runs", "2")
                .toArray(String[]::new));
        String out = r.out();
        assertEquals(0, r.status(), out + r.err());

        assertTrue(Pattern.compile("(?m)^generation benchmark: load average [0-9.]+ [0-9.]+ [0-9.]+ .*threads: \\d+"
                + " available processors, PyTorch \\S+ intra-op / \\S+ inter-op.*, \\d+ live JVM threads").matcher(out)
                .find(), out);
        assertTrue(out.contains("round 1, KV cache, B = 2: baseline"), out);
        assertTrue(out.contains("round 2, KV cache, B = 2: baseline"), out);
        assertTrue(out.contains("round 1, no cache, B = 1: baseline"), out);

        // Tokens/s of both models and their ratio, per decoding mode and batch size.
        Matcher speed = Pattern.compile("(?m)^\\| (KV cache|no cache) \\| (\\d+) \\| (\\d+) \\| " + NUM + " \\| " + NUM
                + " \\| " + NUM + "x \\[" + NUM + "x\\.\\." + NUM + "x\\] \\| (?:" + NUM + "x|-) \\|$").matcher(out);
        Set<String> seen = new HashSet<>();
        while (speed.find()) {
            seen.add(speed.group(1) + " " + speed.group(2));
            int rounds = Integer.parseInt(speed.group(3));
            double base = Double.parseDouble(speed.group(4));
            double scone = Double.parseDouble(speed.group(5));
            double median = Double.parseDouble(speed.group(6));
            double min = Double.parseDouble(speed.group(7));
            double max = Double.parseDouble(speed.group(8));
            assertTrue(base > 0 && scone > 0, speed.group());
            assertEquals(speed.group(1).equals("KV cache") ? 2 : 1, rounds, speed.group());
            assertTrue(min <= median && median <= max, speed.group());
            if (rounds == 1) {
                assertEquals(scone / base, median, 0.01 * median, speed.group());
                assertEquals(median, min, 1e-9, "one round: min = median");
                assertEquals(median, max, 1e-9, "one round: max = median");
            }
            // "-" when a run was too short to be charged a clock tick of CPU time.
            assertTrue(speed.group(9) == null || Double.parseDouble(speed.group(9)) > 0, speed.group());
        }
        assertEquals(Set.of("KV cache 1", "KV cache 2", "no cache 1", "no cache 2"), seen, out);

        // The time per token, split; the baseline reads no store; the windows shift at C as computed here.
        int expectedShifts = shifts(prompt, tokens, CONTEXT);
        assertTrue(expectedShifts > 0, "the test's settings must reach C");
        Matcher split = Pattern.compile("(?m)^\\| (KV cache|no cache) \\| (\\d+) \\| (baseline|SCONE) \\| " + NUM
                + " \\| " + NUM + " \\| " + NUM + " \\| " + NUM + " \\| (-|[0-9.]+) \\|$").matcher(out);
        seen.clear();
        while (split.find()) {
            seen.add(split.group(1) + " " + split.group(2) + " " + split.group(3));
            double total = Double.parseDouble(split.group(4));
            double lookup = Double.parseDouble(split.group(5));
            double model = Double.parseDouble(split.group(6));
            double other = Double.parseDouble(split.group(7));
            assertTrue(total > 0 && lookup >= 0 && model > 0, split.group());
            assertEquals(total, lookup + model + other, 3e-4, split.group());
            if (split.group(3).equals("baseline")) {
                assertEquals(0.0, lookup, split.group());
            } else {
                assertTrue(lookup > 0, "SCONE's lookups take time: " + split.group());
            }
            if (split.group(1).equals("KV cache")) {
                assertEquals(expectedShifts, Double.parseDouble(split.group(8)), split.group());
            } else {
                assertEquals("-", split.group(8));
            }
        }
        assertEquals(8, seen.size(), out);
        assertTrue(out.contains("greedy tokens of round 1, with vs without the cache: baseline B = 1 "), out);

        // The serving processes' memory, and their difference next to the store's files.
        Matcher mem = Pattern.compile("(?m)^\\| (baseline|baseline \\+ store held|SCONE) \\| " + NUM + " \\| " + NUM + " \\| " + NUM + " \\| "
                + NUM + " \\| " + NUM + " \\| " + NUM + " \\| " + NUM + " \\| " + NUM + " \\| (" + NUM + "|n/a) \\| (.*)"
                + " \\|$").matcher(out);
        seen.clear();
        while (mem.find()) {
            seen.add(mem.group(1));
            double rss = Double.parseDouble(mem.group(2));
            double untrimmed = Double.parseDouble(mem.group(3));
            double hwm = Double.parseDouble(mem.group(4));
            double heapUsed = Double.parseDouble(mem.group(7));
            double heapCommitted = Double.parseDouble(mem.group(8));
            // VmHWM and VmRSS come from one read of /proc/self/status, after the trim; the untrimmed VmRSS
            // was read before it, and the kernel's high-water mark need not have caught up with it
            assertTrue(rss > 0 && untrimmed > 0 && hwm >= rss && heapUsed > 0 && heapCommitted >= heapUsed,
                    mem.group());
            assertEquals(rss - heapCommitted, Double.parseDouble(mem.group(9)), 0.11, mem.group());
            if (!mem.group(1).equals("baseline")) {
                assertTrue(mem.group(12).matches(NUM + " / " + NUM), "the store's mapped pages: " + mem.group());
            }
        }
        assertEquals(Set.of("baseline", "baseline + store held", "SCONE"), seen, out);
        if (!Pattern.compile("(?m)^\\| SCONE \\|.*\\| n/a \\| [0-9.]+ / [0-9.]+ \\|$").matcher(out).find()) {
            // Native memory tracking answered: the difference is broken down.
            assertTrue(Pattern.compile("(?m)^the SCONE - baseline VmRSS difference, roughly .*: store pages [0-9.]+, Java heap committed"
                    + " [+-][0-9.]+, JVM native \\(NMT\\) [+-][0-9.]+, the rest [+-][0-9.]+ MiB$").matcher(out).find(),
                    out);
        }
        for (String row : List.of("SCONE - baseline", "store held - baseline", "SCONE - store held")) {
            assertTrue(Pattern.compile("(?m)^\\| " + row + " \\| [+-][0-9]+\\.[0-9] \\|").matcher(out).find(), out);
        }
        assertTrue(Pattern.compile("(?m)^SCONE - store held VmRSS: [+-][0-9.]+ MiB against the [0-9.-]+ MiB of store"
                + " pages .*; within them: (yes|no.*) \\(the store open and unused costs [+-][0-9.]+ MiB\\)$")
                .matcher(out).find(), out);
        long storeBytes = GenerationBenchmark.storeFiles(demo.resolve("store")).values().stream()
                .mapToLong(Long::longValue).sum();
        assertTrue(out.contains(String.format(java.util.Locale.ROOT, "store files: %,d bytes", storeBytes)), out);
        assertTrue(out.contains("vectors.bin"), out);
        assertTrue(Pattern.compile("(?m)^SCONE - baseline VmRSS: [+-][0-9.]+ MiB against the store's [0-9.]+ MiB on"
                + " disk, of which [0-9.]+ MiB resident in the SCONE process; within the store's resident pages:"
                + " (yes|no.*); within its size on disk: (yes|no.*)$")
                .matcher(out).find(), out);
        assertTrue(out.contains("\nat the end: load average "), out);
    }

    @Test
    void skipsTheMemoryAndTheUncachedRoundsWhenTold() throws Exception {
        Result r = run(inputs("--prompt-tokens", "4", "--tokens", "2", "--batch", "3", "--rounds", "2",
                "--no-cache-rounds", "0", "--warmup", "0", "--no-memory").toArray(String[]::new));
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("serving memory: skipped (--no-memory)"), r.out());
        assertTrue(r.out().contains("without the cache: skipped (--no-cache-rounds 0)"), r.out());
        assertTrue(r.out().contains("| KV cache | 3 | 2 | "), r.out());
        assertFalse(r.out().contains("| no cache |"), r.out());
        assertFalse(r.out().contains("serving memory: each model"), r.out());
    }

    @Test
    void refusesInputsThatDoNotFitWithOneLine() throws Exception {
        Path models = demo.resolve("models");
        Path store = demo.resolve("store");
        Path otherStore = storeOfAnotherModel(tmp.resolve("other-store"));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        String[][] cases = {
            {"--scone", models.resolve("baseline").toString()},
            {"--baseline", models.resolve("scone").toString()},
            {"--store", otherStore.toString()},
            {"--store", tmp.resolve("no-such-store").toString()},
            {"--store", models.toString()},
            {"--scone", empty.toString()},
            {"--baseline", store.resolve("manifest.txt").toString()},
            {"--prompt-from", tmp.resolve("no-such.tok").toString()},
            {"--prompt-tokens", "100000"},
            {"--batch", "0"},
            {"--rounds", "1", "--no-cache-rounds", "2"},
        };
        for (String[] c : cases) {
            List<String> more = new ArrayList<>(List.of(c));
            more.add("--no-memory");
            Result r = run(inputs(more.toArray(String[]::new)).toArray(String[]::new));
            String what = String.join(" ", c) + ": " + r.err();
            assertEquals(2, r.status(), what);
            assertEquals("", r.out(), what);
            assertTrue(r.err().startsWith("generation-benchmark: ") && r.err().strip().lines().count() == 1, what);
        }
        Result mismatch = run(inputs("--store", otherStore.toString()).toArray(String[]::new));
        assertTrue(mismatch.err().contains("modelFingerprint"), mismatch.err());
        Result swapped = run(inputs("--scone", models.resolve("baseline").toString()).toArray(String[]::new));
        assertTrue(swapped.err().contains("holds a baseline, not a SCONE model"), swapped.err());
    }

    /** A sound store over the same f-grams and vocabulary as the demo's, claiming other weights. */
    private static Path storeOfAnotherModel(Path dir) throws Exception {
        FgramVocabulary vocab = FgramVocabularyFile.read(demo.resolve("fgrams.bin"));
        try (FgramStore real = FgramStore.open(demo.resolve("store"));
                FgramStoreWriter w = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab)
                        .setEmbeddingSize(real.embeddingSize()).optDtype(real.dtype())
                        .optTokenVocabularyFingerprint(real.manifest().tokenVocabularyFingerprint())
                        .optModelFingerprint("0123456789abcdef0123456789abcdef").build()) {
            float[] v = new float[real.embeddingSize()];
            for (int id = 0; id < vocab.size(); id++) {
                w.add(id, v, 0);
            }
            w.commit();
        }
        return dir;
    }

    @Test
    void promptsAreDistinctWindowsSpreadOverTheFile() throws Exception {
        try (TokenIdFile f = TokenIdFile.open(demo.resolve("tokens/heldout.tok"))) {
            int[][] p = GenerationBenchmark.prompts(f, 8, 32);
            assertEquals(8, p.length);
            Set<String> distinct = new HashSet<>();
            for (int[] row : p) {
                assertEquals(32, row.length);
                distinct.add(Arrays.toString(row));
            }
            assertEquals(8, distinct.size(), "every row its own window");
            assertArrayEquals(Arrays.copyOf(f.document(0), 32), p[0], "row 0 starts the file");
            long windows = 0;
            for (int d = 0; d < f.documentCount(); d++) {
                windows += f.documentLength(d) / 5;
            }
            assertEquals(Math.toIntExact(windows), GenerationBenchmark.prompts(f, (int) windows, 5).length);
        }
    }

    @Test
    void theChildReportLineReadsBackAndPromptsRoundTrip() {
        ServingMemoryProbe.Sample s = new ServingMemoryProbe.Sample(10, 20, 12, 3, 7, 1, 2, 4, 9, 2, 5, 6, 16, 1.5,
                Map.of("Class", 3L, "Java_Heap", 2L));
        assertEquals(s, ServingMemoryProbe.Sample.parse(s.format()));
        assertEquals(8, s.nativeShare());
        assertEquals(7, s.jvmNative());
        ServingMemoryProbe.Sample t = new ServingMemoryProbe.Sample(30, 40, 31, 5, 9, 3, 2, 6, 11, 2, 7, 8, 16, 2.5,
                Map.of("Class", 5L, "Code", 1L));
        ServingMemoryProbe.Sample u = new ServingMemoryProbe.Sample(20, 60, 21, 4, 8, 2, 2, 5, 10, 2, 6, 7, 16, 0.5,
                Map.of("Class", 4L, "Code", 2L));
        ServingMemoryProbe.Sample m = ServingMemoryProbe.Sample.median(List.of(s, t, u));
        assertEquals(new ServingMemoryProbe.Sample(20, 40, 21, 4, 8, 2, 2, 5, 10, 2, 6, 7, 16, 1.5,
                Map.of("Class", 4L)), m, "each figure's median; categories that every sample has");
        assertEquals(15, ServingMemoryProbe.Sample.median(List.of(s, u)).vmRss(), "two samples: their mean");
        int[][] prompts = {{1, 2, 3}, {4}, {5, 6}};
        assertArrayEquals(prompts, ServingMemoryProbe.parsePrompts(ServingMemoryProbe.formatPrompts(prompts)));
        String diff = GenerationBenchmark.nmtDifference(Map.of("Class", 3L << 20, "Code", 1L << 10),
                Map.of("Class", 1L << 20, "Thread", 1L << 20));
        assertEquals(" Class +2.0, Thread -1.0", diff);
        assertNotNull(GenerationBenchmark.environment("x"));
    }

    /** The shifts a run makes: the window grows from min(prompt, C) and keeps C / 2 tokens on reaching C. */
    private static int shifts(int prompt, int tokens, int c) {
        int length = Math.min(prompt, c);
        int shifts = 0;
        for (int i = 1; i < tokens; i++) {
            if (length < c) {
                length++;
            } else {
                length = c / 2;
                shifts++;
            }
        }
        return shifts;
    }
}
