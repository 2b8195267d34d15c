package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.TestData;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStoreWriter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The demo runs end to end on a slice of the corpus, and what it writes and prints holds up. */
class DemoCommandTest {

    @Test
    void demoRunsEndToEndOnASliceAndReportsConsistentFigures(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("demo");
        DemoCommand demo = new DemoCommand();
        new CommandLine(demo).parseArgs("--out", out.toString(), "--max-documents", "10", "--held-out", "2",
                "--transfer", "2", "--spread-from", tmp.resolve("no-results.jsonl").toString(),
                "--compact", "500", "--top-s", "800", "--max-n", "4", "--tokens", "8192", "--context", "32",
                "--batch", "8", "--embedding", "32", "--ffn", "64", "--eval-every", "8", "--eval-windows", "8",
                "--warmup", "4", "--generate", "8", "--dtype", "BFLOAT16", "--quiet");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DemoCommand.Report r;
        try (PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            r = demo.run(TestData.sotuDir(), TestData.gpt2TokenizerJson(), log);
        }
        String printed = bytes.toString(StandardCharsets.UTF_8);

        for (DemoCommand.ModelReport m : new DemoCommand.ModelReport[] {r.baseline(), r.scone()}) {
            assertTrue(Double.isFinite(m.perplexity()) && m.perplexity() > 1 && m.perplexity() < 501,
                    m.name() + " perplexity " + m.perplexity());
            assertTrue(m.trainTokensPerSecond() > 0 && m.generateTokensPerSecond() > 0, m.toString());
            assertEquals(4, m.history().size(), m.name() + ": 32 steps, validated every 8");
            assertFalse(m.sample().isBlank(), m.name() + " generated nothing");
            assertFalse(m.sample().contains("<unk>"), "the unknown id must never be generated: " + m.sample());
        }
        for (DemoCommand.ModelReport m : new DemoCommand.ModelReport[] {r.baseline(), r.scone()}) {
            assertTrue(m.transfer().tokens() > 0 && Double.isFinite(m.transfer().perplexity()), m.name());
        }
        assertTrue(r.verdict().contains("no spread measured"), r.verdict());
        assertEquals(0, r.spread().seeds());
        // Same main model: the SCONE model needs exactly the baseline's parameters at inference.
        assertEquals(r.baseline().acceleratorParameters(), r.scone().acceleratorParameters());
        assertTrue(r.scone().trainingParameters() > r.scone().acceleratorParameters(), "A_fgram is trained too");
        assertEquals(800, r.fgrams());

        // The store holds every f-gram, in bfloat16, and its size is what the table says.
        Path store = out.resolve("store");
        try (FgramStore s = FgramStore.open(store)) {
            assertEquals(800, s.size());
            assertEquals(32, s.embeddingSize());
            assertEquals("BFLOAT16", s.dtype().name());
        }
        assertEquals(PrecomputeCommand.sizeOf(store), r.storeBytes());

        // The same vectors as a sharded store: evaluating through it gives what the single store gives.
        Path sharded = out.resolve("store-sharded");
        FgramVocabulary vocab = FgramVocabularyFile.read(out.resolve("fgrams.bin"));
        try (FgramStore s = FgramStore.open(store);
                FgramStoreWriter w = FgramStoreWriter.builder().setPath(sharded).optVocabulary(vocab)
                        .optShards(3).setEmbeddingSize(s.embeddingSize()).optDtype(s.dtype())
                        .optTokenVocabularyFingerprint(s.manifest().tokenVocabularyFingerprint())
                        .optModelFingerprint(s.manifest().modelFingerprint())
                        .optMainModelFingerprint(s.manifest().mainModelFingerprint()).build()) {
            float[] v = new float[s.embeddingSize()];
            for (int id = 0; id < vocab.size(); id++) {
                int[] t = vocab.tokens(id);
                assertTrue(s.lookup(t, 0, t.length, v, 0) >= 0, "f-gram " + id + " in the store");
                w.add(id, v, 0);
            }
            w.commit();
        }
        Path sconeDir = out.resolve("models").resolve("scone");
        Path heldOut = out.resolve("tokens").resolve("heldout.tok");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        double single = EvalCommand.run(sconeDir, heldOut, null, false, store, 8, 4, quiet).result().perplexity();
        double shardedPerplexity = EvalCommand.run(sconeDir, heldOut, null, false, sharded, 8, 4, quiet)
                .result().perplexity();
        assertEquals(single, shardedPerplexity);

        // Serving needs the export and the store only: a folder with nothing but the export (no checkpoint,
        // no fgrams.bin, so neither A_fgram nor V_fgram can be loaded) evaluates to what the checkpoint's
        // in-memory table gives, and generates.
        Path serving = tmp.resolve("serving");
        Files.createDirectories(serving);
        Files.copy(sconeDir.resolve(ServingModels.FILE_NAME), serving.resolve(ServingModels.FILE_NAME));
        EvalCommand.Result served = EvalCommand.run(serving, heldOut, null, false, store, 8, 0, quiet);
        EvalCommand.Result checkpoint = EvalCommand.run(sconeDir, heldOut, null, false, null, 8, 0, quiet);
        assertEquals(checkpoint.result().perplexity(), served.result().perplexity(),
                0x1p-7 * checkpoint.result().perplexity(), "bfloat16 store vs A_fgram");
        assertEquals(checkpoint.result().matchedTokens(), served.result().matchedTokens(),
                "the store's own matches split the result as the pre-scan does");
        Path tokenizer = TestData.gpt2TokenizerJson();
        assertEquals(0, SconeCli.runExample(new String[] {"generate", "--model", serving.toString(), "--store",
            store.toString(), "--tokenizer", tokenizer.toString(), "--tokens", "5", "--prompt", "The budget",
            "--prompt", "We", "--top-k", "0", "--top-p", "0.9"}));
        assertEquals(2, SconeCli.runExample(new String[] {"generate", "--model", serving.toString(),
            "--tokenizer", tokenizer.toString()}), "a SCONE export needs its store");
        assertEquals(2, SconeCli.runExample(new String[] {"eval", "--model", serving.toString(), "--store",
            out.resolve("models").toString(), "--data", heldOut.toString()}), "a folder that is no store");

        // The plot is a real picture.
        BufferedImage png = ImageIO.read(r.plot().toFile());
        assertTrue(png != null && png.getWidth() == 900 && png.getHeight() == 560, "plot " + r.plot());

        // The table names both models' figures as measured.
        assertTrue(printed.contains("| held-out perplexity, random addresses | " + String.format(java.util.Locale.ROOT,
                "%.2f", r.baseline().perplexity())), printed);
        assertTrue(printed.contains("| transfer: perplexity on the most recent addresses | "
                + String.format(java.util.Locale.ROOT, "%.2f", r.baseline().transfer().perplexity())), printed);
        assertTrue(printed.contains("Verdict on the random held-out addresses: "), printed);
        assertTrue(printed.contains("(through the store)"), printed);
        assertTrue(printed.contains("baseline: The state of the Union"), printed);
        assertTrue(printed.contains("SCONE:    The state of the Union"), printed);
        assertTrue(Files.isRegularFile(out.resolve("models").resolve("scone").resolve("history.csv")));

        // The generation benchmark runs on what the demo wrote (the exports and the store).
        assertEquals(0, dev.scone.examples.bench.GenerationBenchmark.runExample(new String[] {
            "--baseline", out.resolve("models").resolve("baseline").toString(),
            "--scone", out.resolve("models").resolve("scone").toString(), "--store", store.toString(),
            "--prompt-from", out.resolve("tokens").resolve("heldout.tok").toString(), "--tokens", "4",
            "--warmup", "2", "--rounds", "1", "--no-cache-rounds", "1", "--batch", "1,2", "--no-memory"}));
    }
}
