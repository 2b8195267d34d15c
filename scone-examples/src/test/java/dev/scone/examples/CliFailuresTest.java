package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every command through every class of expected failure: a missing file, a folder where a file
 * is expected, a file that is not what the option wants, an empty input and a bad option. Each
 * must end with exit status 2 and one line on stderr that names the command and (for a file) the
 * file, and no stack trace; {@code --verbose} adds the stack trace.
 */
class CliFailuresTest {

    @TempDir
    static Path work;

    private static Path missing;
    private static Path folder;
    private static Path garbage;
    private static Path out;

    @BeforeAll
    static void files() throws Exception {
        missing = work.resolve("no-such-input");
        folder = Files.createDirectories(work.resolve("a-folder"));
        garbage = work.resolve("not-a-scone-file.bin");
        Files.writeString(garbage, "this is plain text, not one of scone's files\n".repeat(40));
        out = work.resolve("outputs");
    }

    private static Arguments failure(String names, String... args) {
        return Arguments.of(String.join(" ", args), names, args);
    }

    static Stream<Arguments> failures() {
        String tok = TestData.gpt2TokenizerJson().toString();
        String sotu = TestData.sotuDir().toString();
        String m = missing.toString();
        String d = folder.toString();
        String g = garbage.toString();
        String o = out.toString();
        Path emptyCorpus = work.resolve("empty-corpus");
        try {
            Files.createDirectories(emptyCorpus);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String e = emptyCorpus.toString();
        List<Arguments> a = new ArrayList<>();
        // tokenize
        a.add(failure(m, "tokenize", "--corpus", m, "--tokenizer", tok, "--out", o + "/t1", "--quiet"));
        a.add(failure(e, "tokenize", "--corpus", e, "--tokenizer", tok, "--out", o + "/t2", "--quiet"));
        a.add(failure(g, "tokenize", "--corpus", g, "--tokenizer", tok, "--out", o + "/t3", "--quiet"));
        a.add(failure(m, "tokenize", "--corpus", sotu, "--tokenizer", m, "--out", o + "/t4", "--quiet"));
        a.add(failure(d, "tokenize", "--corpus", sotu, "--tokenizer", d, "--out", o + "/t5", "--quiet"));
        a.add(failure(g, "tokenize", "--corpus", sotu, "--tokenizer", g, "--out", o + "/t6", "--quiet"));
        a.add(failure("--compact", "tokenize", "--corpus", sotu, "--tokenizer", tok, "--out", o + "/t7",
                "--compact", "-3", "--quiet"));
        a.add(failure("--held-out", "tokenize", "--corpus", sotu, "--tokenizer", tok, "--out", o + "/t8",
                "--held-out", "many"));
        // count
        a.add(failure(m, "count", "--train", m, "--out", o + "/c1.bin"));
        a.add(failure(d, "count", "--train", d, "--out", o + "/c2.bin"));
        a.add(failure(g, "count", "--train", g, "--out", o + "/c3.bin"));
        a.add(failure("--max-n", "count", "--train", g, "--max-n", "1", "--out", o + "/c4.bin"));
        // train
        a.add(failure(m, "train", "--model", "baseline", "--seed", "1", "--train", m, "--held-out", m,
                "--tokens", "1000", "--out", o + "/m1", "--quiet"));
        a.add(failure(d, "train", "--model", "baseline", "--seed", "1", "--train", d, "--held-out", d,
                "--tokens", "1000", "--out", o + "/m2", "--quiet"));
        a.add(failure(g, "train", "--model", "baseline", "--seed", "1", "--train", g, "--held-out", g,
                "--tokens", "1000", "--out", o + "/m3", "--quiet"));
        a.add(failure("--model", "train", "--model", "neither", "--seed", "1", "--tokens", "1000", "--out", o + "/m4"));
        a.add(failure("--seed", "train", "--model", "baseline", "--out", o + "/m5"));
        // --device: a name that is no device, and a GPU this machine's engine does not have
        a.add(failure("--device tpu", "train", "--model", "baseline", "--seed", "1", "--device", "tpu",
                "--tokens", "1000", "--out", o + "/m6"));
        a.add(failure("--device gpu:7", "eval", "--model", g, "--data", g, "--device", "gpu:7"));
        // eval
        a.add(failure(m, "eval", "--model", m, "--data", g));
        a.add(failure(m, "eval", "--model", g, "--data", m));
        a.add(failure(d, "eval", "--model", d, "--data", g));
        a.add(failure(g, "eval", "--model", g, "--data", g));
        a.add(failure("--batch", "eval", "--model", g, "--batch", "x"));
        // precompute
        a.add(failure(m, "precompute", "--model", m, "--out", o + "/s1", "--quiet"));
        a.add(failure(d, "precompute", "--model", d, "--out", o + "/s2", "--quiet"));
        a.add(failure(g, "precompute", "--model", g, "--out", o + "/s3", "--quiet"));
        a.add(failure("--dtype", "precompute", "--model", g, "--dtype", "FLOAT7", "--out", o + "/s4"));
        // export
        a.add(failure(m, "export", "--model", m, "--out", o + "/e1.model"));
        a.add(failure(d, "export", "--model", d, "--out", o + "/e2.model"));
        a.add(failure(g, "export", "--model", g, "--out", o + "/e3.model"));
        a.add(failure("--unknown-option", "export", "--model", g, "--unknown-option"));
        // generate
        a.add(failure(m, "generate", "--model", m, "--tokenizer", tok, "--prompt", "The"));
        a.add(failure(d, "generate", "--model", d, "--tokenizer", tok, "--prompt", "The"));
        a.add(failure(g, "generate", "--model", g, "--tokenizer", tok, "--prompt", "The"));
        a.add(failure("--top-p", "generate", "--model", g, "--tokenizer", tok, "--top-p", "2"));
        // demo
        a.add(failure(m, "demo", "--data", m, "--out", o + "/demo1", "--quiet"));
        a.add(failure(d, "demo", "--data", d, "--out", o + "/demo2", "--quiet"));
        a.add(failure("--tokens", "demo", "--tokens", "lots"));
        // experiment
        a.add(failure(m, "experiment", "--data", m, "--docs", m, "--work", o + "/x1", "--only", "main",
                "--corpus", "sotu", "--seeds", "1", "--tokens", "1000"));
        a.add(failure("--only", "experiment", "--work", o + "/x2", "--only", "nosuchgroup", "--dry-run"));
        // verify
        a.add(failure(m, "verify", m));
        a.add(failure(g, "verify", g));
        a.add(failure(d, "verify", d));
        a.add(failure("PATH", "verify"));
        // the command itself
        a.add(Arguments.of("no such command", "nosuchcommand", new String[] {"nosuchcommand"}));
        return a.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void oneLineNamingTheProblemAndStatusTwo(String title, String names, String[] args) {
        CliRuns.assertFailsInOneLine(names, args);
        assertEquals(List.of(), filesUnder(out), title + ": a failed command left files");
    }

    private static List<Path> filesUnder(Path dir) {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aFileThatIsNoTokenizerJsonIsSaidSoWithoutTheJsonLibrarysWords() throws Exception {
        Path notAnObject = work.resolve("array.json");
        Files.writeString(notAnObject, "[1, 2, 3]");
        for (Path p : List.of(garbage, notAnObject)) {
            String line = CliRuns.assertFailsInOneLine(p.toString(), "tokenize", "--corpus",
                    TestData.sotuDir().toString(), "--tokenizer", p.toString(), "--out", out.resolve("tj").toString(),
                    "--quiet").err();
            assertTrue(line.contains("not a tokenizer.json") && !line.contains("com.google"), line);
        }
    }

    @Test
    void tokenizeNeverReplacesAFolderHoldingOtherFiles() throws Exception {
        Path mine = Files.createDirectories(work.resolve("someone-elses-folder"));
        Files.writeString(mine.resolve("notes.txt"), "keep me");
        CliRuns.assertFailsInOneLine(mine.toString(), "tokenize", "--corpus", TestData.sotuDir().toString(),
                "--tokenizer", TestData.gpt2TokenizerJson().toString(), "--out", mine.toString(), "--quiet");
        try (Stream<Path> s = Files.list(mine)) {
            assertEquals(List.of(mine.resolve("notes.txt")), s.toList());
        }
        try (Stream<Path> s = Files.list(work)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".someone-elses-folder"))
                    .toList(), "no temporary folder left");
        }
    }

    @Test
    void verboseAddsTheStackTrace() {
        CliRuns.Run r = CliRuns.run("count", "--verbose", "--train", missing.toString(), "--out", out.resolve("v.bin").toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(CliRuns.TRACE.matcher(r.err()).find(), "--verbose prints the trace:\n" + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("scone count: "), r.err());
    }
}
