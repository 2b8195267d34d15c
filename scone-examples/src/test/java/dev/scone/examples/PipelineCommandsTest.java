package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.train.Checkpoint;
import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.testing.TestData;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline's command-line steps end to end on a slice of the real corpus, outputs read back and checked. */
class PipelineCommandsTest {

    private static final int CONTEXT = 16;
    private static final int STEPS = 6;

    @TempDir
    static Path work;

    private static Path train;
    private static Path heldOut;
    private static Path fgrams;
    private static int vocabularySize;

    private static PrintStream sink(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    @BeforeAll
    static void tokenizeAndCount() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TokenizeCommand.Outputs t = TokenizeCommand.run(TestData.sotuDir(), TestData.gpt2TokenizerJson(),
                work.resolve("tokens"), 2, 6, 400, true, sink(out));
        train = t.train();
        heldOut = t.heldOut();
        fgrams = work.resolve("fgrams.bin");
        try (TokenIdFile f = TokenIdFile.open(train)) {
            vocabularySize = f.vocabularySize();
        }
        assertEquals(401, vocabularySize, "400 kept ids + the unknown id");
        out.reset();
        CountingResult r = CountCommand.run(train, 4, 3, 300, 2, 1L << 24, fgrams, sink(out));
        String log = out.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("scan n=2") && log.contains("scan n=3") && log.contains("wrote"), log);
        FgramVocabulary v = FgramVocabularyFile.read(fgrams);
        assertEquals(r.vocabulary(), v);
        assertEquals(300, v.size());
        assertEquals(4, v.maxN());
        assertEquals(vocabularySize, v.tokenVocabularySize());
        for (int i = 1; i < v.size(); i++) {
            assertTrue(v.count(i) <= v.count(i - 1) && v.count(i) >= 3, "ranked by count, threshold kept");
        }
    }

    private static TrainCommand.Options options(String model, Path vocabulary) {
        TrainerConfig tc = TrainerConfig.builder().setSeed(42).optBatchSize(4).optContextLength(CONTEXT)
                .optLearningRate(3e-3f, 3e-4f).optSteps(2, STEPS).optEvaluation(3, 8).build();
        LanguageModelConfig arch = new LanguageModelConfig(1, CONTEXT, 16, 1, 2, 32, false, 0f, null);
        return new TrainCommand.Options(model, train, heldOut, vocabulary, arch, 1, 2, 32,
                FgramModelConfig.DEFAULT_OUTPUT, tc, 3);
    }

    private static List<String[]> history(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        assertEquals(TrainCommand.HISTORY_HEADER, lines.get(0));
        return lines.subList(1, lines.size()).stream().map(l -> l.split(",")).toList();
    }

    @Test
    void trainsEvaluatesAndResumesBothModels() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        double[] perplexities = new double[2];
        for (String model : new String[] {"baseline", "scone"}) {
            Path dir = work.resolve("models").resolve(model);
            TrainCommand.Result r = TrainCommand.run(options(model, fgrams), dir, true, sink(out));
            assertEquals(STEPS, r.steps());
            assertEquals(STEPS * 4L * CONTEXT, r.tokensSeen());
            assertTrue(r.tokensPerSecond() > 0);

            LanguageModel.Spec spec = LanguageModel.Spec.parse(Files.readString(dir.resolve("model.config")));
            assertEquals(vocabularySize, spec.config().vocabularySize());
            assertEquals(model.equals("scone"), spec.config().isScone());
            if (spec.config().isScone()) {
                assertEquals(FgramVocabularyFile.read(fgrams).fingerprint(), spec.fgramFingerprint());
                assertEquals(4, spec.config().fgramModel().maxN());
            }
            assertEquals(STEPS, Checkpoint.readHeader(dir.resolve("final.ckpt")).step());
            assertEquals(STEPS, Checkpoint.readHeader(dir.resolve("checkpoint.ckpt")).step());
            assertEquals(FgramVocabularyFile.read(fgrams), FgramVocabularyFile.read(dir.resolve("fgrams.bin")));

            List<String[]> rows = history(dir.resolve("history.csv"));
            assertEquals(2, rows.size(), "validations at steps 3 and 6");
            double previousWall = 0;
            for (int i = 0; i < rows.size(); i++) {
                String[] row = rows.get(i);
                assertEquals(3L * (i + 1), Long.parseLong(row[0]));
                assertEquals(3L * (i + 1) * 4 * CONTEXT, Long.parseLong(row[1]));
                double wall = Double.parseDouble(row[2]);
                assertTrue(wall > previousWall, "wall seconds increase: " + wall);
                previousWall = wall;
                double ppl = Double.parseDouble(row[4]);
                assertTrue(ppl > 1 && ppl < 2 * vocabularySize, model + " perplexity " + ppl);
                double matched = Double.parseDouble(row[7]);
                assertTrue(matched > 0 && matched < 1, "matched fraction " + matched);
                assertTrue(Double.isFinite(Double.parseDouble(row[8])), "train loss");
            }

            EvalCommand.Result e = EvalCommand.run(dir, heldOut, null, false, 4, 12, sink(out));
            assertEquals(12L * CONTEXT, e.result().tokens());
            assertTrue(e.result().perplexity() > 1 && e.result().perplexity() < 2 * vocabularySize);
            assertTrue(e.result().matchedTokens() > 0 && e.result().matchedTokens() < e.result().tokens());
            assertTrue(e.tokensPerSecond() > 0);
            perplexities[model.equals("scone") ? 1 : 0] = e.result().perplexity();
            if (spec.config().isScone()) {
                EvalCommand.Result served = EvalCommand.run(dir, heldOut, null, true, 4, 12, sink(out));
                assertTrue(served.throughTable());
                assertEquals(e.result().matchedTokens(), served.result().matchedTokens());
                assertEquals(e.result().perplexity(), served.result().perplexity(), 1e-5 * e.result().perplexity());
            } else {
                assertThrows(IllegalArgumentException.class,
                        () -> EvalCommand.run(dir, heldOut, null, true, 4, 12, sink(out)));
            }

            // Resuming a finished run rewrites its outputs and keeps the history and its wall times.
            TrainCommand.Result again = TrainCommand.resume(dir.resolve("final.ckpt"), train, heldOut, null, dir, 3,
                    true, sink(out));
            assertEquals(STEPS, again.steps());
            List<String[]> after = history(dir.resolve("history.csv"));
            assertEquals(rows.size(), after.size());
            assertEquals(rows.get(1)[2], after.get(1)[2]);
        }
        assertNotEquals(perplexities[0], perplexities[1], "the two models differ");
        String log = out.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("perplexity") && log.contains("tokens/s") && log.contains("matched positions"), log);
    }

    @Test
    void resumingWithAnotherVocabularyIsRefusedPrecisely() throws Exception {
        Path dir = work.resolve("models").resolve("scone-short");
        TrainCommand.Options o = options("scone", fgrams);
        TrainerConfig two = TrainerConfig.builder().setSeed(7).optBatchSize(2).optContextLength(CONTEXT)
                .optSteps(1, 2).optEvaluation(0, 0).build();
        TrainCommand.run(new TrainCommand.Options("scone", train, null, fgrams, o.architecture(), 1, 2, 32,
                FgramModelConfig.DEFAULT_OUTPUT, two, 0),
                dir, true, sink(new ByteArrayOutputStream()));
        Path other = work.resolve("fgrams-other.bin");
        CountCommand.run(train, 4, 3, 200, 1, 1L << 24, other, sink(new ByteArrayOutputStream()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainCommand.resume(
                dir.resolve("final.ckpt"), train, null, other, dir, 0, true, sink(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("trained with f-gram vocabulary " + FgramVocabularyFile.read(fgrams)
                .fingerprint()) && e.getMessage().contains("S = 200"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EvalCommand.run(dir, heldOut, other, false, 4, 2,
                sink(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().contains("the vocabulary given is"), e.getMessage());
    }

    @Test
    void commandLineWiresTheSteps() throws Exception {
        Path out = work.resolve("cli-fgrams.bin");
        assertEquals(0, SconeCli.runExample(new String[] {"count", "--train", train.toString(), "--max-n", "3",
            "--min-count", "2", "--top-s", "50", "--out", out.toString()}));
        FgramVocabulary v = FgramVocabularyFile.read(out);
        assertEquals(50, v.size());
        assertEquals(3, v.maxN());
        // --seed is mandatory; --model must be baseline or scone.
        assertNotEquals(0, SconeCli.runExample(new String[] {"train", "--model", "baseline", "--train",
            train.toString(), "--steps", "1"}));
        assertNotEquals(0, SconeCli.runExample(new String[] {"train", "--model", "other", "--seed", "1", "--train",
            train.toString(), "--steps", "1", "--out", work.resolve("never").toString()}));
        assertTrue(!Files.exists(work.resolve("never").resolve("final.ckpt")));
        Path dir = work.resolve("models").resolve("cli");
        assertEquals(0, SconeCli.runExample(new String[] {"train", "--model", "baseline", "--seed", "3", "--train",
            train.toString(), "--held-out", heldOut.toString(), "--embedding", "16", "--layers", "1", "--heads", "2",
            "--ffn", "32", "--context", "16", "--batch", "2", "--tokens", "64", "--warmup", "1", "--eval-every", "1",
            "--eval-windows", "2", "--out", dir.toString(), "--quiet"}));
        assertEquals(2, Checkpoint.readHeader(dir.resolve("final.ckpt")).step(), "64 tokens at 32 per step");
        assertEquals(2, history(dir.resolve("history.csv")).size());
        String[] resume = {"train", "--model", "baseline", "--seed", "3", "--resume",
            dir.resolve("final.ckpt").toString(), "--train", train.toString(), "--held-out", heldOut.toString(), "--out",
            dir.toString(), "--quiet"};
        assertEquals(0, SconeCli.runExample(resume));
        assertEquals(2, Checkpoint.readHeader(dir.resolve("final.ckpt")).step());
        resume[4] = "4";
        assertEquals(2, SconeCli.runExample(resume), "another seed than the checkpoint's");
        assertEquals(0, SconeCli.runExample(new String[] {"eval", "--model", dir.toString(), "--data",
            heldOut.toString(), "--max-windows", "4"}));
    }

    @Test
    void exportsServeFromTheStoreAndEvaluateAFolderOfText() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Path dir = work.resolve("models").resolve("scone-served");
        TrainCommand.run(options("scone", fgrams), dir, true, sink(out));
        Path compaction = work.resolve("tokens").resolve("compaction.cmp");
        assertEquals(0, SconeCli.runExample(new String[] {"export", "--model", dir.toString(), "--token-compaction",
            compaction.toString()}));
        Path export = dir.resolve(ServingModels.FILE_NAME);
        assertTrue(Files.isRegularFile(export));
        Path store = work.resolve("store-served");
        PrecomputeCommand.run(dir, store, dev.scone.store.VectorDtype.FLOAT32, compaction, true, sink(out));

        // A folder of text: two addresses, tokenized with the model's tokenizer and compaction.
        Path text = work.resolve("text");
        Files.createDirectories(text);
        try (var s = Files.list(TestData.sotuDir())) {
            List<Path> docs = s.filter(p -> p.toString().endsWith(".txt")).sorted().limit(2).toList();
            for (Path d : docs) {
                Files.copy(d, text.resolve(d.getFileName()));
            }
        }
        Files.writeString(text.resolve("notes.md"), "not a .txt document: ignored");
        Path tokenizer = TestData.gpt2TokenizerJson();
        EvalCommand.Result viaCheckpoint = EvalCommand.runOnText(dir, text, tokenizer, null, false, null, compaction,
                4, 6, null, sink(out));
        // The same evaluation on a device named explicitly: the CPU, the device every test has.
        EvalCommand.Result viaStore = EvalCommand.runOnText(dir, text, tokenizer, null, false, store, null, 4, 6,
                ai.djl.Device.cpu(), sink(out));
        assertEquals(6L * CONTEXT, viaStore.result().tokens());
        assertEquals(viaCheckpoint.result().perplexity(), viaStore.result().perplexity(),
                1e-5 * viaCheckpoint.result().perplexity(), "float32 store = A_fgram");
        assertEquals(viaCheckpoint.result().matchedTokens(), viaStore.result().matchedTokens());
        assertTrue(viaStore.throughTable());
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("tokenized 2 documents of " + text), out.toString());

        assertEquals(0, SconeCli.runExample(new String[] {"eval", "--model", export.toString(), "--store",
            store.toString(), "--text", text.toString(), "--tokenizer", tokenizer.toString(), "--max-windows", "2"}));
        // Refused with exit code 2 and one line naming the file: a file given as --text, an empty folder,
        // a SCONE export without its store, a checkpoint given where an export is needed, a store of
        // another model, a damaged row of the store.
        Path empty = work.resolve("empty-text");
        Files.createDirectories(empty);
        Path ckpt = dir.resolve("final.ckpt");
        CliRuns.assertFailsInOneLine(export.toString(), "eval", "--model", dir.toString(), "--text",
                export.toString(), "--tokenizer", tokenizer.toString());
        CliRuns.assertFailsInOneLine(empty.toString(), "eval", "--model", dir.toString(), "--text",
                empty.toString(), "--tokenizer", tokenizer.toString());
        CliRuns.assertFailsInOneLine(export.toString(), "eval", "--model", export.toString(), "--data",
                heldOut.toString());
        CliRuns.assertFailsInOneLine(ckpt.toString(), "eval", "--model", ckpt.toString(), "--store",
                store.toString(), "--data", heldOut.toString());
        CliRuns.assertFailsInOneLine(ckpt.toString(), "generate", "--model", ckpt.toString(), "--store",
                store.toString(), "--tokenizer", tokenizer.toString());
        CliRuns.assertFailsInOneLine("nothing-here", "export", "--model", work.resolve("nothing-here").toString());
        Path other = work.resolve("models").resolve("scone-other");
        TrainCommand.Options o = options("scone", fgrams);
        TrainerConfig seven = TrainerConfig.builder().setSeed(7).optBatchSize(2).optContextLength(CONTEXT)
                .optSteps(1, 2).optEvaluation(0, 0).build();
        TrainCommand.run(new TrainCommand.Options("scone", train, null, fgrams, o.architecture(), 1, 2, 32,
                FgramModelConfig.DEFAULT_OUTPUT, seven, 0), other, true, sink(out));
        ExportCommand.run(other, compaction, null, sink(out));
        CliRuns.assertFailsInOneLine(store.toString(), "eval", "--model", other.toString(), "--store",
                store.toString(), "--data", heldOut.toString());
        // a flipped byte in the first row (the most frequent f-gram, matched in any window)
        Path damaged = work.resolve("store-damaged");
        Files.createDirectories(damaged);
        try (var s = Files.list(store)) {
            for (Path f : s.toList()) {
                Files.copy(f, damaged.resolve(f.getFileName()));
            }
        }
        Path vectors = damaged.resolve("vectors.bin");
        byte[] bytes = Files.readAllBytes(vectors);
        bytes[64 + 3] ^= 0x10;
        Files.write(vectors, bytes);
        CliRuns.assertFailsInOneLine(vectors.toString(), "eval", "--model", export.toString(), "--store",
                damaged.toString(), "--data", heldOut.toString(), "--max-windows", "4");
        // Token ids of another compaction of the same size (fitted on another training split) are refused
        // by the export, and as the held-out split of a training run.
        TokenizeCommand.Outputs otherTokens = TokenizeCommand.run(TestData.sotuDir(), TestData.gpt2TokenizerJson(),
                work.resolve("tokens-other"), 3, 6, 400, true, sink(out));
        try (TokenIdFile a = TokenIdFile.open(heldOut); TokenIdFile b = TokenIdFile.open(otherTokens.heldOut())) {
            assertEquals(a.vocabularySize(), b.vocabularySize());
            assertEquals(a.origin().tokenizer(), b.origin().tokenizer());
            assertFalse(a.origin().equals(b.origin()), "another compaction");
        }
        String said = CliRuns.assertFailsInOneLine(otherTokens.heldOut().toString(), "eval", "--model",
                export.toString(), "--store", store.toString(), "--data", otherTokens.heldOut().toString()).err();
        assertTrue(said.contains("compacted by compaction") && said.contains("was trained with compaction"), said);
        // The checkpoint records the compaction of its training ids: evaluating ids of another one, or
        // labelling a store or an export with another compaction (or none), is refused.
        CliRuns.assertFailsInOneLine(otherTokens.heldOut().toString(), "eval", "--model", dir.toString(), "--data",
                otherTokens.heldOut().toString());
        CliRuns.assertFailsInOneLine(otherTokens.compaction().toString(), "precompute", "--model", dir.toString(),
                "--out", work.resolve("store-mislabelled").toString(), "--token-compaction",
                otherTokens.compaction().toString(), "--quiet");
        CliRuns.assertFailsInOneLine("--token-compaction", "precompute", "--model", dir.toString(), "--out",
                work.resolve("store-unlabelled").toString(), "--token-compaction",
                work.resolve("no-such.cmp").toString(), "--quiet");
        CliRuns.assertFailsInOneLine(otherTokens.compaction().toString(), "export", "--model", dir.toString(),
                "--out", work.resolve("mislabelled.model").toString(), "--token-compaction",
                otherTokens.compaction().toString());
        assertFalse(Files.exists(work.resolve("store-mislabelled")) || Files.exists(work.resolve("mislabelled.model")));
        // A baseline's matched/unmatched split by another vocabulary than the one it was trained with is refused.
        Path baseline = work.resolve("models").resolve("baseline-bound");
        TrainCommand.run(options("baseline", fgrams), baseline, true, sink(out));
        Path otherVocab = work.resolve("fgrams-200.bin");
        CountCommand.run(train, 4, 3, 200, 2, 1L << 24, otherVocab, sink(out));
        CliRuns.assertFailsInOneLine(otherVocab.toString(), "eval", "--model", baseline.toString(), "--data",
                heldOut.toString(), "--fgrams", otherVocab.toString());
        assertEquals(0, CliRuns.run("eval", "--model", baseline.toString(), "--data", heldOut.toString(), "--fgrams",
                fgrams.toString(), "--max-windows", "2").status());
        // A vocabulary counted on ids of another compaction is refused for training.
        Path otherCounted = work.resolve("fgrams-other-compaction.bin");
        CountCommand.run(otherTokens.train(), 4, 3, 100, 2, 1L << 24, otherCounted, sink(out));
        CliRuns.assertFailsInOneLine(otherCounted.toString(), "train", "--model", "scone", "--seed", "1", "--train",
                train.toString(), "--held-out", heldOut.toString(), "--fgrams", otherCounted.toString(), "--tokens",
                "256", "--context", "16", "--out",
                work.resolve("models").resolve("miscounted").toString(), "--quiet");
        CliRuns.assertFailsInOneLine(otherTokens.heldOut().toString(), "train", "--model", "baseline", "--seed", "1",
                "--train", train.toString(), "--held-out", otherTokens.heldOut().toString(), "--tokens", "256",
                "--context", "16", "--out", work.resolve("models").resolve("mixed").toString(), "--quiet");

        // scone verify: every kind of file in these folders is checked and said to be sound ...
        Path sharded = work.resolve("store-sharded");
        FgramVocabulary vocab = FgramVocabularyFile.read(fgrams);
        float[] vec = new float[16];
        try (dev.scone.store.FgramStoreWriter w = dev.scone.store.FgramStoreWriter.builder()
                .setPath(sharded).optVocabulary(vocab).optShards(2).setEmbeddingSize(16).build()) {
            for (int id = 0; id < vocab.size(); id++) {
                vec[id % 16] = id;
                w.add(id, vec, 0);
            }
            w.commit();
        }
        Path checked = work.resolve("verified");
        Files.createDirectories(checked);
        for (Path p : List.of(train, compaction, fgrams, ckpt, export)) {
            Files.copy(p, checked.resolve(p.getFileName()));
        }
        CliRuns.Run sound = CliRuns.run("verify", checked.toString(), store.toString(), sharded.toString());
        assertEquals(0, sound.status(), sound.out() + sound.err());
        for (String kind : List.of("token-id file", "token compaction", "f-gram vocabulary", "training checkpoint",
                "inference export of a SCONE model", "f-gram store, ", "sharded f-gram store, 2 shards")) {
            assertTrue(sound.out().lines().anyMatch(l -> l.startsWith("OK ") && l.contains(kind)
                    && l.contains("(checked: ")), kind + ":\n" + sound.out());
        }
        assertTrue(sound.out().contains("7 sound, 0 failed, 0 skipped"), sound.out());
        // ... and a flipped byte anywhere in one of them, or a file of no kind, fails naming that file.
        Path tokens = checked.resolve(train.getFileName());
        byte[] t = Files.readAllBytes(tokens);
        t[t.length - 9] ^= 0x01;
        Files.write(tokens, t);
        CliRuns.Run bad = CliRuns.assertFailsInOneLine(tokens.toString(), "verify", checked.toString(),
                damaged.toString());
        assertTrue(bad.out().lines().anyMatch(l -> l.startsWith("FAIL ") && l.contains(vectors.toString())),
                bad.out());
        assertTrue(bad.out().contains("4 sound, 2 failed, 0 skipped"), bad.out());
        assertTrue(bad.err().contains("and 1 more problems"), bad.err());
        // A flipped byte within a vocabulary file's records (checked through its mapping, block by block).
        Path vocabulary = checked.resolve(fgrams.getFileName());
        byte[] v = Files.readAllBytes(vocabulary);
        v[v.length / 2] ^= 0x01;
        Files.write(vocabulary, v);
        CliRuns.Run badVocabulary = CliRuns.assertFailsInOneLine(vocabulary.toString(), "verify",
                vocabulary.toString());
        assertTrue(badVocabulary.out().lines().anyMatch(l -> l.startsWith("FAIL ") && l.contains(vocabulary.toString())),
                badVocabulary.out());
        CliRuns.assertFailsInOneLine(dir.resolve("history.csv").toString(), "verify",
                dir.resolve("history.csv").toString());
    }

    @Test
    void theDemoVerdictNeedsEverySeedToAgree() {
        assertTrue(DemoCommand.verdict(-3, new double[] {-2, -4, -1}).startsWith("SCONE is ahead"));
        assertTrue(DemoCommand.verdict(2, new double[] {1, 3, 0.5}).startsWith("SCONE is behind"));
        assertTrue(DemoCommand.verdict(-3, new double[] {-2, 1, -1}).startsWith("SCONE is level"));
        assertTrue(DemoCommand.verdict(1, new double[] {-2, -4, -1}).startsWith("SCONE is level"),
                "this run disagrees with the seeds");
        assertTrue(DemoCommand.verdict(-3, new double[] {-2}).contains("no spread measured"));
    }
}
