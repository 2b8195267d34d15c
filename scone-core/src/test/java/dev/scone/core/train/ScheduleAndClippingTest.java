package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleAndClippingTest {

    @Test
    void warmupThenCosineDecay() {
        WarmupCosineSchedule s = new WarmupCosineSchedule(1e-3f, 1e-4f, 10, 110);
        assertEquals(1e-4f, s.getNewValue(0), 1e-9f);
        assertEquals(5e-4f, s.getNewValue(4), 1e-9f);
        assertEquals(1e-3f, s.getNewValue(9), 1e-9f);
        assertEquals(1e-3f, s.getNewValue(10), 1e-9f);
        // Half-way through the decay the rate is the mean of peak and floor.
        assertEquals(5.5e-4f, s.getNewValue(60), 1e-8f);
        assertEquals(1e-4f, s.getNewValue(110), 1e-9f);
        assertEquals(1e-4f, s.getNewValue(1000), 1e-9f);
        float prev = Float.MAX_VALUE;
        for (int u = 10; u <= 110; u++) {
            float v = s.getNewValue(u);
            assertTrue(v <= prev, "decay is monotone at " + u);
            prev = v;
        }
        WarmupCosineSchedule noWarmup = new WarmupCosineSchedule(2f, 0f, 0, 4);
        assertEquals(2f, noWarmup.getNewValue(0), 1e-6f);
        assertEquals(1f, noWarmup.getNewValue(2), 1e-6f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new WarmupCosineSchedule(1f, 0f, 5, 4));
        assertTrue(e.getMessage().contains("warm-up updates must be in [0, 4], got 5"), e.getMessage());
    }

    @Test
    void clippingBoundsTheGlobalNormAndKeepsTheDirection() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {3, 0, 0, 0}, new Shape(2, 2));
            NDArray b = m.create(new float[] {4});
            NDArray flat = AdamW.flatten(List.of(a, b));
            assertEquals(new Shape(5), flat.getShape());
            assertEquals(5f, GradientClipping.globalNorm(flat), 1e-6f);
            float before = GradientClipping.clipByGlobalNorm(flat, 1f);
            assertEquals(5f, before, 1e-6f);
            assertEquals(1f, GradientClipping.globalNorm(flat), 1e-5f);
            assertArrayEquals(new float[] {0.6f, 0, 0, 0, 0.8f}, flat.toFloatArray(), 1e-5f);

            NDArray c = m.randomNormal(new Shape(50, 30)).mul(10);
            NDArray d = m.randomNormal(new Shape(30)).mul(10);
            NDArray cd = AdamW.flatten(List.of(c, d));
            double sum = 0;
            for (float v : cd.toFloatArray()) {
                sum += (double) v * v;
            }
            float n0 = GradientClipping.clipByGlobalNorm(cd, 2.5f);
            assertEquals(Math.sqrt(sum), n0, 1e-4 * Math.sqrt(sum));
            assertTrue(n0 > 2.5f);
            assertTrue(GradientClipping.globalNorm(cd) <= 2.5f + 1e-4f);

            NDArray small = m.create(new float[] {0.1f, 0.2f});
            GradientClipping.clipByGlobalNorm(small, 1f);
            assertEquals(0.1f, small.getFloat(0), 0f, "below the threshold nothing changes");
            assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipByGlobalNorm(small, 0f));
        }
    }

    @Test
    void trainerConfigRoundTripsAndRequiresASeed() {
        TrainerConfig c = TrainerConfig.builder().setSeed(-5).optBatchSize(3).optContextLength(9)
                .optLearningRate(3e-3f, 1e-5f).optSteps(7, 70).optMaxTokens(12345).optClipNorm(0.5f)
                .optEvaluation(11, 13).build();
        assertEquals(c, TrainerConfig.parse(c.toText()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainerConfig.builder().build());
        assertTrue(e.getMessage().contains("seed is mandatory"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TrainerConfig.builder().setSeed(1).optContextLength(0).build());
        assertTrue(e.getMessage().contains("contextLength must be >= 1, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TrainerConfig.parse(c.toText().replace("scone-trainer-config v1", "scone-trainer-config v9")));
        assertTrue(e.getMessage().contains("must start with"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TrainerConfig.parse(c.toText() + "colour=blue\n"));
        assertTrue(e.getMessage().contains("unknown trainer configuration key 'colour'"), e.getMessage());
    }

    @Test
    void sharedParametersAreUpdatedOnceAndSurviveAStepScope() {
        try (NDManager m = NDManager.newBaseManager()) {
            ai.djl.nn.core.Linear shared = ai.djl.nn.core.Linear.builder().setUnits(4).build();
            ai.djl.nn.SequentialBlock block = new ai.djl.nn.SequentialBlock().add(shared).add(shared);
            block.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(1, 4));
            assertEquals(4, block.getParameters().size(), "DJL lists the shared weight and bias twice");
            assertEquals(2, LanguageModelTrainer.trainableParameters(block).size());
            NDArray w = shared.getParameters().get(0).getValue().getArray();
            float before = w.getFloat(0, 0);
            try (NDManager scope = m.newSubManager()) {
                dev.scone.core.BlockScopes.attachParameters(block, scope);
            }
            assertEquals(m, w.getManager(), "the weight went back to its own manager");
            assertEquals(before, w.getFloat(0, 0), 0f);
        }
    }
}
