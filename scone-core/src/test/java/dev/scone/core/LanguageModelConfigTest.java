package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LanguageModelConfigTest {

    private static final LanguageModelConfig SCONE = new LanguageModelConfig(8192, 128, 128, 2, 2, 512, true, 0.1f,
            new FgramModelConfig(128, 1, 2, 512, 4, 0.05f));

    @Test
    void textRoundTripsBaselineAndScone() {
        assertEquals(SCONE, LanguageModelConfig.fromText(SCONE.toText()));
        LanguageModelConfig baseline = LanguageModelConfig.baseline(50257, 64, DecoderConfig.of(64, 3, 4, 256), false);
        assertEquals(baseline, LanguageModelConfig.fromText(baseline.toText()));
        assertTrue(!baseline.isScone() && SCONE.isScone());
    }

    @Test
    void fileRoundTripsAndDamageIsNamed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.config");
        SCONE.write(file);
        assertEquals(SCONE, LanguageModelConfig.read(file));
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Files.writeString(file, text.replace("layers=2", "layers=3"), StandardCharsets.UTF_8);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> LanguageModelConfig.read(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("checksum mismatch"),
                e.getMessage());
    }

    @Test
    void unknownVersionsAndFormatsAreRefused() {
        String v3 = resign(SCONE.toText().replace("version=2", "version=3"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LanguageModelConfig.fromText(v3));
        assertTrue(e.getMessage().contains("unsupported version 3"), e.getMessage());
        String badOutput = resign(SCONE.toText().replace("fgram.output=none", "fgram.output=loud"));
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModelConfig.fromText(badOutput));
        assertTrue(e.getMessage().contains("unknown f-gram output 'loud'"), e.getMessage());
        String other = resign(SCONE.toText().replace("format=scone-lm-config", "format=other"));
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModelConfig.fromText(other));
        assertTrue(e.getMessage().contains("format is 'other'"), e.getMessage());
        String missing = resign(SCONE.toText().replaceFirst("\nheads=2\n", "\n"));
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModelConfig.fromText(missing));
        assertTrue(e.getMessage().contains("missing key 'heads'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModelConfig.fromText("format=x\n"));
        assertTrue(e.getMessage().contains("no checksum"), e.getMessage());
    }

    @Test
    void theJunctionRoundTripsAndVersionOneTextsReadAsTheOldOne() {
        LanguageModelConfig junction = SCONE.withInputNorm(true).withFgramCombine(FgramCombine.ADD)
                .withFgramModel(SCONE.fgramModel().withOutput(FgramOutput.SCALED));
        assertEquals(junction, LanguageModelConfig.fromText(junction.toText()));
        assertTrue(junction.toText().contains("\ninputNorm=true\n") && junction.toText().contains("fgram.output=scaled")
                && junction.toText().contains("fgram.combine=add"), junction.toText());
        // What version 1 wrote: no junction keys, and it meant no input norm, a layer-normalised output and
        // replacement, whatever the defaults of this code are.
        String v1 = resign(junction.toText().replace("version=2", "version=1").replace("inputNorm=true\n", "")
                .replace("fgram.output=scaled\n", "").replace("fgram.combine=add\n", ""));
        LanguageModelConfig old = LanguageModelConfig.fromText(v1);
        assertEquals(false, old.inputNorm());
        assertEquals(FgramOutput.LAYER_NORM, old.fgramModel().output());
        assertEquals(FgramCombine.REPLACE, old.fgramCombine());
        assertEquals(junction.fgramModel().layers(), old.fgramModel().layers());
    }

    /** Replaces the checksum line so that only the edited field is wrong. */
    private static String resign(String text) {
        String body = text.substring(0, text.lastIndexOf("checksum="));
        java.util.zip.CRC32 c = new java.util.zip.CRC32();
        c.update(body.getBytes(StandardCharsets.UTF_8));
        return body + "checksum=" + java.util.HexFormat.of().toHexDigits((int) c.getValue()) + "\n";
    }

    @Test
    void fieldsAreValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SCONE.withFgramModel(FgramModelConfig.of(64, 1, 2, 8, 4)));
        assertTrue(e.getMessage().contains("A_fgram embedding size 64 differs from the model's 128"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new LanguageModelConfig(0, 8, 8, 1, 1, 8, true, 0f, null));
        assertThrows(IllegalArgumentException.class,
                () -> new LanguageModelConfig(8, 0, 8, 1, 1, 8, true, 0f, null));
        assertThrows(IllegalArgumentException.class,
                () -> new LanguageModelConfig(8, 8, 8, 1, 3, 8, true, 0f, null));
    }
}
