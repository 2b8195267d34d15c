package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import dev.scone.core.data.WindowBatch;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.testing.Fixtures;
import dev.scone.core.testing.RecordingProgress;
import dev.scone.core.testing.TinyLmBlock;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.progress.ProgressBarListener;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.testing.BruteForceMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LanguageModelTrainerTest {

    private static final int V = 16;
    private static final int T = 8;

    /** Documents following a fixed permutation of the tokens: perfectly predictable from the last token. */
    private static TokenCorpus cyclicCorpus(int documents, int length) {
        int[][] docs = new int[documents][length];
        for (int d = 0; d < documents; d++) {
            int t = d % V;
            for (int i = 0; i < length; i++) {
                docs[d][i] = t;
                t = (5 * t + 3) % V;
            }
        }
        return new InMemoryTokenCorpus(docs, V);
    }

    private static TrainerConfig.Builder config(long seed) {
        return TrainerConfig.builder().setSeed(seed).optBatchSize(4).optContextLength(T).optLearningRate(3e-2f, 1e-3f)
                .optSteps(5, 60).optWeightDecay(0.01f).optClipNorm(1f).optEvaluation(20, 0);
    }

    @Test
    void lossFallsOnALearnableSequenceAndValidationIsRecorded() {
        WindowDataset train = WindowDataset.builder(cyclicCorpus(12, 60), T).build();
        WindowDataset val = WindowDataset.builder(cyclicCorpus(3, 30), T).build();
        RecordingProgress probe = new RecordingProgress();
        try (LanguageModelTrainer trainer = LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V, 16, 1, 0f).asModel()).setConfig(config(1).build()).setTrainingData(train)
                .optValidationData(val).optProgress(probe).build()) {
            List<HistoryPoint> history = trainer.train();
            assertEquals(60, trainer.step());
            assertTrue(trainer.isFinished());
            assertEquals(60L * 4 * T, trainer.tokensSeen());
            assertEquals(List.of("train 60 0"), probe.starts);
            assertEquals(1, probe.finishes);
            assertEquals(63, probe.steps.size(), "a report per step, and another after each of the 3 validations");
            assertEquals(60L, probe.steps.get(62));
            assertTrue(probe.statuses.get(0).endsWith("val ppl -"), probe.statuses.get(0));
            assertTrue(probe.statuses.get(62).matches(".* val ppl \\d+\\.\\d"), probe.statuses.get(62));
            float first = probe.losses().get(0);
            assertEquals(60, probe.losses().size());
            float last = probe.losses().get(59);
            assertTrue(first > 2.0f, "starts near ln(16) = 2.77: " + first);
            assertTrue(last < 0.3f, "a bigram model learns a permutation: " + last);
            assertEquals(3, history.size());
            assertEquals(20L * 4 * T, history.get(0).tokensSeen());
            assertTrue(history.get(2).validationPerplexity() < 1.5, "val ppl " + history.get(2).validationPerplexity());
            // Each point's training loss is the mean of its 20 steps; the time only grows.
            assertTrue(history.get(0).trainingLoss() > history.get(2).trainingLoss(), history.toString());
            assertTrue(history.get(0).wallSeconds() > 0 && history.get(2).wallSeconds() > history.get(0).wallSeconds(),
                    history.toString());
            assertEquals(history.get(2).wallSeconds(), trainer.wallSeconds());
            assertTrue(trainer.stepSeconds() > 0 && trainer.stepSeconds() < trainer.wallSeconds());
            assertTrue(history.get(2).validationPerplexity() < history.get(0).validationPerplexity());
            String status = "loss \\S+ \\| \\d+ tok/s \\| val ppl \\S+";
            assertTrue(probe.statuses.stream().allMatch(st -> st.matches(status)),
                    probe.statuses.get(0));
        }
    }

    @Test
    void theTrainerRunsOnTheDeviceItIsGiven() {
        WindowDataset train = WindowDataset.builder(cyclicCorpus(4, 40), T).build();
        try (LanguageModelTrainer trainer = LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V, 8, 1, 0f).asModel()).setConfig(config(2).build()).setTrainingData(train)
                .optDevice(ai.djl.Device.cpu()).build()) {
            trainer.train(2);
            for (var p : trainer.model().block().getParameters()) {
                assertEquals(ai.djl.Device.cpu(), p.getValue().getArray().getDevice(), p.getKey());
            }
        }
        try (ai.djl.ndarray.NDManager onCpu = ai.djl.ndarray.NDManager.newBaseManager(ai.djl.Device.cpu())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LanguageModelTrainer
                    .builder().setModel(new TinyLmBlock(V, 8, 1, 0f).asModel()).setConfig(config(2).build())
                    .setTrainingData(train).optParameterManager(onCpu).optDevice(ai.djl.Device.gpu(3)).build());
            assertTrue(e.getMessage().contains("differs from the parameter manager's device"), e.getMessage());
        }
    }

    @Test
    void tokenCapStopsTraining() {
        WindowDataset train = WindowDataset.builder(cyclicCorpus(4, 40), T).build();
        try (LanguageModelTrainer trainer = LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V, 8, 1, 0f).asModel()).setConfig(config(2).optMaxTokens(100).build())
                .setTrainingData(train).optProgress(new ProgressBarListener("steps", "tokenCap")).build()) {
            trainer.train();
            assertEquals(4, trainer.step(), "100 tokens at 32 per step: 4 steps");
        }
    }

    @Test
    void resumingFromACheckpointContinuesExactly(@TempDir Path tmp) throws Exception {
        TokenCorpus corpus = Fixtures.markovCorpus(9, 5, 10, 50, V);
        FgramVocabulary vocab = Fixtures.countVocabulary(corpus, 3, 3);
        WindowDataset train = WindowDataset.builder(corpus, T).optFgrams(vocab, new BruteForceMatcher(vocab)).build();
        WindowDataset val = WindowDataset.builder(Fixtures.markovCorpus(10, 4, 20, 30, V), T)
                .optFgrams(vocab, new BruteForceMatcher(vocab)).build();
        // Dropout makes the engine's random generator part of the state; 10 steps cross an epoch.
        TrainerConfig cfg = config(77).optSteps(3, 10).optEvaluation(3, 0).build();
        assertTrue(train.windowCount() * 2 < 10 * 4, "the run crosses epochs: " + train.windowCount() + " windows");
        TinyLmBlock block = new TinyLmBlock(V, 12, vocab.size(), 0.2f);

        List<float[]> straight;
        float straightLoss;
        List<HistoryPoint> straightHistory;
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(block.asModel()).setConfig(cfg)
                .setTrainingData(train).optValidationData(val).build()) {
            t.train(9);
            straightLoss = t.trainStep();
            straight = parameters(t);
            straightHistory = t.history();
        }

        Path ck = tmp.resolve("run.ckpt");
        try (LanguageModelTrainer t = LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V, 12, vocab.size(), 0.2f).asModel()).setConfig(cfg).setTrainingData(train)
                .optValidationData(val).build()) {
            t.train(5);
            t.saveCheckpoint(ck);
        }
        Checkpoint.Header h = Checkpoint.readHeader(ck);
        assertEquals(5, h.step());
        assertEquals(cfg, h.trainerConfig());
        assertEquals(1, h.history().size());
        try (LanguageModelTrainer t = LanguageModelTrainer.resume(ck, TinyLmBlock.factory(), train, val,
                ProgressListener.NONE, null)) {
            assertEquals(5, t.step());
            t.train(4);
            float resumedLoss = t.trainStep();
            assertEquals(straightLoss, resumedLoss, 0f, "last step's loss");
            List<float[]> resumed = parameters(t);
            assertEquals(straight.size(), resumed.size());
            for (int i = 0; i < straight.size(); i++) {
                assertArrayEquals(straight.get(i), resumed.get(i), 0f, "parameter " + i);
            }
            assertEquals(withoutTime(straightHistory), withoutTime(t.history()), "the same points and training losses");
            assertTrue(t.history().get(1).wallSeconds() > h.wallSeconds(), "the clock goes on from the checkpoint's");
            assertTrue(h.wallSeconds() > h.history().get(0).wallSeconds());
        }
    }

    @Test
    void damagedOrMismatchedCheckpointsAreRefusedPrecisely(@TempDir Path tmp) throws Exception {
        WindowDataset train = WindowDataset.builder(cyclicCorpus(4, 40), T).build();
        Path ck = tmp.resolve("a.ckpt");
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(new TinyLmBlock(V, 8, 1, 0f).asModel())
                .setConfig(config(3).build()).setTrainingData(train).build()) {
            t.train(2);
            t.saveCheckpoint(ck);
        }
        byte[] good = Files.readAllBytes(ck);

        byte[] flipped = good.clone();
        flipped[flipped.length / 2] ^= 0x10;
        Path corrupt = Files.write(tmp.resolve("corrupt.ckpt"), flipped);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> Checkpoint.readHeader(corrupt));
        assertTrue(e.getMessage().contains("checksum mismatch") && e.getMessage().contains("corrupt.ckpt"),
                e.getMessage());

        Path truncated = Files.write(tmp.resolve("truncated.ckpt"), java.util.Arrays.copyOf(good, good.length - 100));
        e = assertThrows(SconeFormatException.class, () -> LanguageModelTrainer.resume(truncated,
                TinyLmBlock.factory(), train, null, ProgressListener.NONE, null));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());

        // A well-formed file of a future format version (checksum recomputed) names the version.
        byte[] future = good.clone();
        future[Checkpoint.MAGIC.length + 3] = (byte) (Checkpoint.FORMAT_VERSION + 1);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(future, 0, future.length - 8);
        java.nio.ByteBuffer.wrap(future, future.length - 8, 8).putLong(crc.getValue());
        Path next = Files.write(tmp.resolve("next.ckpt"), future);
        e = assertThrows(SconeFormatException.class, () -> Checkpoint.readHeader(next));
        assertTrue(e.getMessage().contains("format version " + (Checkpoint.FORMAT_VERSION + 1) + " is not supported"),
                e.getMessage());

        Path foreign = Files.write(tmp.resolve("foreign.ckpt"), new byte[64]);
        e = assertThrows(SconeFormatException.class, () -> Checkpoint.readHeader(foreign));
        assertTrue(e.getMessage().contains("bad magic number"), e.getMessage());

        WindowDataset other = WindowDataset.builder(cyclicCorpus(5, 40), T).build();
        IllegalArgumentException ia = assertThrows(IllegalArgumentException.class, () -> LanguageModelTrainer
                .resume(ck, TinyLmBlock.factory(), other, null, ProgressListener.NONE, null));
        assertTrue(ia.getMessage().contains("was trained on data"), ia.getMessage());

        // A factory that builds a different architecture from the same text: the parameters do not fit.
        ModelFactory wrong = text -> new TinyLmBlock(V, 9, 1, 0f).asModel();
        e = assertThrows(SconeFormatException.class,
                () -> LanguageModelTrainer.resume(ck, wrong, train, null, ProgressListener.NONE, null));
        assertTrue(e.getMessage().contains("do not fit"), e.getMessage());

        try (NDManager m = NDManager.newBaseManager()) {
            TrainableModel loaded = Checkpoint.loadModel(ck, TinyLmBlock.factory(), m);
            assertTrue(loaded.block().isInitialized());
        }
    }

    @Test
    void partsThatDoNotFitAreRefused() {
        WindowDataset train = WindowDataset.builder(cyclicCorpus(4, 40), T).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V + 1, 8, 1, 0f).asModel()).setConfig(config(1).build())
                .setTrainingData(train).build());
        assertTrue(e.getMessage().contains("vocabularySize 16") && e.getMessage().contains("has 17 tokens"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModelTrainer.builder()
                .setModel(new TinyLmBlock(V, 8, 1, 0f).asModel()).setConfig(config(1).optContextLength(4).build())
                .setTrainingData(train).build());
        assertTrue(e.getMessage().contains("contextLength 8 but the configuration has 4"), e.getMessage());
    }

    @Test
    void evaluationAgreesWithTheTrainingLossAndSplitsByMatch() {
        TokenCorpus corpus = Fixtures.markovCorpus(4, 6, 30, 60, V);
        FgramVocabulary vocab = Fixtures.countVocabulary(corpus, 3, 2);
        WindowDataset data = WindowDataset.builder(corpus, T).optFgrams(vocab, new BruteForceMatcher(vocab)).build();
        try (NDManager m = NDManager.newBaseManager()) {
            TinyLmBlock block = new TinyLmBlock(V, 8, vocab.size(), 0f);
            block.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, new ai.djl.ndarray.types.Shape(1, T),
                    new ai.djl.ndarray.types.Shape(1, T));
            PerplexityResult r = Evaluation.perplexity(block, data, 3, 0);
            assertEquals(data.windowCount() * T, r.tokens());
            long matched = 0;
            long[] all = new long[(int) data.windowCount()];
            for (int i = 0; i < all.length; i++) {
                all[i] = i;
            }
            WindowBatch batch = data.batch(all);
            matched = batch.matchedPositions();
            assertEquals(matched, r.matchedTokens());
            assertTrue(matched > 0 && matched < r.tokens());
            try (NDManager s = m.newSubManager()) {
                NDArray logits = block.forward(new ParameterStore(s, false), batch.inputs(s), false).get(0);
                float djl = Loss.softmaxCrossEntropyLoss()
                        .evaluate(new NDList(batch.labels(s)), new NDList(logits.reshape(-1, V))).getFloat();
                assertEquals(djl, r.loss(), 1e-5);
            }
            double recombined = (Math.log(r.matchedPerplexity()) * r.matchedTokens()
                    + Math.log(r.unmatchedPerplexity()) * (r.tokens() - r.matchedTokens())) / r.tokens();
            assertEquals(r.loss(), recombined, 1e-9);
            PerplexityResult capped = Evaluation.perplexity(block, data, 2, 3);
            assertEquals(3L * T, capped.tokens());
        }
    }

    @Test
    void nativeMemoryStaysFlatOverManySteps() {
        int v = 256;
        TokenCorpus corpus = Fixtures.markovCorpus(5, 8, 200, 300, v);
        FgramVocabulary vocab = Fixtures.countVocabulary(corpus, 3, 3);
        WindowDataset train = WindowDataset.builder(corpus, 32).optFgrams(vocab, new BruteForceMatcher(vocab)).build();
        try (NDManager parameters = NDManager.newBaseManager();
                LanguageModelTrainer t = LanguageModelTrainer.builder()
                        .setModel(new TinyLmBlock(v, 64, vocab.size(), 0.1f).asModel())
                        .setConfig(TrainerConfig.builder().setSeed(5).optBatchSize(8).optContextLength(32)
                                .optSteps(10, 1000).optEvaluation(0, 0).build())
                        .setTrainingData(train).optParameterManager(parameters).build()) {
            t.train(20);
            int arrays = parameters.getManagedArrays().size();
            long rss = residentBytes();
            t.train(300);
            assertEquals(arrays, parameters.getManagedArrays().size(), "arrays held by the parameters' manager");
            long grown = residentBytes() - rss;
            // Leaking one step's logits alone would be 300 x 256 KiB = 75 MiB.
            assertTrue(grown < 40L << 20, "resident memory grew by " + (grown >> 20) + " MiB over 300 steps");
            assertFalse(t.isFinished());
        }
    }

    private static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static List<float[]> parameters(LanguageModelTrainer t) {
        List<float[]> out = new ArrayList<>();
        for (Pair<String, Parameter> p : t.model().block().getParameters()) {
            out.add(p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private static List<HistoryPoint> withoutTime(List<HistoryPoint> history) {
        return history.stream().map(p -> new HistoryPoint(p.step(), p.tokensSeen(), p.validation(), p.trainingLoss(),
                Double.NaN)).toList();
    }
}
