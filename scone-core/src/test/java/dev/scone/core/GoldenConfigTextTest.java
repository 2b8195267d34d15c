package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The configuration texts that checkpoints and inference exports carry (the model
 * configuration, the model specification around it, the trainer configuration) read as they
 * did, and the current versions are written byte for byte as before. The files under
 * {@code src/test/resources/golden/config/} were written by {@link #main} (the current versions)
 * and, for {@code lm-config-v1.txt}, copied out of the version-1 golden checkpoint.
 */
class GoldenConfigTextTest {

    /** A SCONE configuration with every junction setting away from its default. */
    static final LanguageModelConfig SCONE = new LanguageModelConfig(8192, 128, 128, 2, 2, 512, true, 0.1f,
            new FgramModelConfig(128, 1, 2, 512, 4, 0.05f).withOutput(FgramOutput.SCALED), true, FgramCombine.ADD);
    static final LanguageModelConfig BASELINE = LanguageModelConfig.baseline(50257, 64, DecoderConfig.of(64, 3, 4, 256),
            false);
    static final TrainerConfig TRAINER = TrainerConfig.builder().setSeed(42).optBatchSize(4).optContextLength(12)
            .optLearningRate(1e-2f, 1e-3f).optSteps(1, 3).optEvaluation(2, 4).build();
    static final LanguageModel.Spec SPEC = new LanguageModel.Spec(SCONE, "5938bef094f5270f46966cf01d89c76d", 4, 97);

    @Test
    void currentVersionsReadAndAreWrittenByteForByte() throws Exception {
        assertEquals(SCONE, LanguageModelConfig.fromText(read("lm-config-v2-scone.txt")));
        assertEquals(BASELINE, LanguageModelConfig.fromText(read("lm-config-v2-baseline.txt")));
        assertEquals(TRAINER, TrainerConfig.parse(read("trainer-config-v1.txt")));
        assertEquals(SPEC, LanguageModel.Spec.parse(read("model-spec-v1-scone.txt")));
        LanguageModel.Spec baseline = LanguageModel.Spec.parse(read("model-spec-v1-baseline.txt"));
        assertEquals(BASELINE, baseline.config());
        assertNull(baseline.fgramFingerprint());
        assertBytes("lm-config-v2-scone.txt", SCONE.toText());
        assertBytes("lm-config-v2-baseline.txt", BASELINE.toText());
        assertBytes("trainer-config-v1.txt", TRAINER.toText());
        assertBytes("model-spec-v1-scone.txt", SPEC.toText());
        assertBytes("model-spec-v1-baseline.txt", baseline.toText());
    }

    @Test
    void versionOneModelConfigurationReadsAsTheOldJunction() throws Exception {
        LanguageModelConfig v1 = LanguageModelConfig.fromText(read("lm-config-v1.txt"));
        assertEquals(new LanguageModelConfig(24, 12, 16, 1, 2, 32, false, 0f,
                new FgramModelConfig(16, 1, 2, 32, 3, 0f, FgramOutput.LAYER_NORM), false, FgramCombine.REPLACE), v1);
    }

    private static void assertBytes(String name, String written) throws Exception {
        assertArrayEquals(Files.readAllBytes(golden().resolve(name)), written.getBytes(StandardCharsets.UTF_8), name);
    }

    private static String read(String name) throws Exception {
        return Files.readString(golden().resolve(name), StandardCharsets.UTF_8);
    }

    private static Path golden() throws URISyntaxException {
        return Path.of(GoldenConfigTextTest.class.getResource("/golden/config/lm-config-v1.txt").toURI()).getParent();
    }

    /**
     * Writes the golden texts of the current versions.
     *
     * @param args the folder to write into ({@code src/test/resources/golden/config})
     * @throws IOException when writing fails
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("lm-config-v2-scone.txt"), SCONE.toText(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("lm-config-v2-baseline.txt"), BASELINE.toText(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("trainer-config-v1.txt"), TRAINER.toText(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("model-spec-v1-scone.txt"), SPEC.toText(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("model-spec-v1-baseline.txt"),
                new LanguageModel.Spec(BASELINE, null, 0, 0).toText(), StandardCharsets.UTF_8);
    }
}
