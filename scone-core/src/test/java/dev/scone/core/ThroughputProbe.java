package dev.scone.core;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Not a test: measures training tokens per second of the baseline and the SCONE model on synthetic
 * text made of f-grams (most positions match). Arguments: steps (default 20).
 */
public final class ThroughputProbe {

    private ThroughputProbe() {}

    /**
     * @param args optional number of timed steps
     */
    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int v = 8192;
        int e = 128;
        int context = 128;
        int batch = 16;
        Random rnd = new Random(1);
        List<int[]> fgrams = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        while (fgrams.size() < 50_000) {
            int[] f = new int[2 + rnd.nextInt(3)];
            for (int k = 0; k < f.length; k++) {
                f[k] = rnd.nextInt(v);
            }
            if (seen.add(java.util.Arrays.toString(f))) {
                fgrams.add(f);
            }
        }
        FgramVocabulary vocabulary = FgramVocabulary.of(v, 4, fgrams, new long[fgrams.size()]);
        DecoderConfig decoder = DecoderConfig.of(e, 2, 2, 4 * e);
        LanguageModelConfig baseline = LanguageModelConfig.baseline(v, context, decoder, true);
        LanguageModelConfig scone = baseline.withFgramModel(FgramModelConfig.of(e, 1, 2, 4 * e, 4));
        for (LanguageModelConfig config : List.of(baseline, scone, baseline, scone)) {
            run(config, vocabulary, batch, context, steps, new Random(2));
        }
    }

    private static void run(LanguageModelConfig config, FgramVocabulary vocabulary, int batch, int context, int steps,
            Random rnd) {
        Engine.getInstance().setRandomSeed(3);
        ProbingFgramMatcher matcher = new ProbingFgramMatcher(vocabulary);
        try (Model model = Model.newInstance("probe")) {
            model.setBlock(CausalLanguageModelBlock.of(config, vocabulary));
            DefaultTrainingConfig tc = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build());
            try (Trainer trainer = model.newTrainer(tc)) {
                trainer.initialize(new Shape(batch, context), new Shape(batch, context));
                long start = 0;
                int matched = 0;
                int distinct = 0;
                for (int step = -3; step < steps; step++) {
                    if (step == 0) {
                        start = System.nanoTime();
                    }
                    int[] tokens = new int[batch * (context + 1)];
                    for (int r = 0; r < batch; r++) {
                        int t = 0;
                        while (t <= context) {
                            int[] f = vocabulary.tokens(rnd.nextInt(vocabulary.size()));
                            for (int k = 0; k < f.length && t <= context; k++) {
                                tokens[r * (context + 1) + t++] = f[k];
                            }
                        }
                    }
                    int[] in = new int[batch * context];
                    int[] labels = new int[batch * context];
                    int[] ids = new int[batch * context];
                    for (int r = 0; r < batch; r++) {
                        System.arraycopy(tokens, r * (context + 1), in, r * context, context);
                        System.arraycopy(tokens, r * (context + 1) + 1, labels, r * context, context);
                        matcher.match(in, r * context, context, ids, r * context);
                    }
                    if (step >= 0) {
                        Set<Integer> d = new HashSet<>();
                        for (int id : ids) {
                            if (id >= 0) {
                                matched++;
                                d.add(id);
                            }
                        }
                        distinct += d.size();
                    }
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        Shape s = new Shape(batch, context);
                        NDList input = new NDList(scope.create(in, s), scope.create(ids, s));
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(input).singletonOrThrow()
                                    .reshape(batch * context, config.vocabularySize());
                            NDArray loss = trainer.getLoss().evaluate(new NDList(scope.create(labels)),
                                    new NDList(logits));
                            gc.backward(loss);
                        }
                        trainer.step();
                    }
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("%s: %.0f tokens/s; matched %.0f%% of positions, %.0f distinct f-grams per batch%n",
                        config.isScone() ? "SCONE   " : "baseline", steps * (double) batch * context / seconds,
                        100.0 * matched / (steps * (double) batch * context), distinct / (double) steps);
            }
        }
    }
}
