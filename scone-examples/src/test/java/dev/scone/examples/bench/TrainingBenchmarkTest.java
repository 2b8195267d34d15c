package dev.scone.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the training benchmark end to end on a slice of the corpus with a tiny model (machinery, not speed). */
class TrainingBenchmarkTest {

    @Test
    void measuresBothModels(@TempDir Path tmp) throws Exception {
        TrainingBenchmark b = new TrainingBenchmark();
        new CommandLine(b).parseArgs("--data", TestData.dataDir().toString(), "--work", tmp.toString(),
                "--max-documents", "5", "--held-out", "1", "--compact", "300", "--max-n", "3", "--top-s", "100",
                "--embedding", "16", "--ffn", "32", "--context", "16", "--batch", "2", "--warmup-steps", "1",
                "--steps", "2", "--rounds", "1", "--profile-steps", "1");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TrainingBenchmark.Measurement[] m = b.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String log = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(2, m.length);
        assertEquals("baseline", m[0].model());
        assertEquals("scone", m[1].model());
        assertTrue(m[1].parameters() > m[0].parameters(), "A_fgram adds parameters");
        for (TrainingBenchmark.Measurement x : m) {
            assertTrue(x.tokensPerSecond() > 0 && Double.isFinite(x.tokensPerSecond()), log);
            // The process CPU clock can be coarse (whole scheduler ticks): over steps this short it may
            // not advance, which the benchmark reports as NaN rather than an infinite rate.
            assertTrue(x.tokensPerCpuSecond() > 0 && Double.isFinite(x.tokensPerCpuSecond())
                    || Double.isNaN(x.tokensPerCpuSecond()), log);
            assertTrue(x.matchedFraction() > 0 && x.matchedFraction() < 1, log);
        }
        assertTrue(m[1].distinctFgramsPerStep() >= 1 && m[1].distinctFgramsPerStep() <= 2 * 16, log);
        assertTrue(log.contains("| scone |") && log.contains("load average"), log);
        assertTrue(log.contains("host work of the SCONE input embedding per forward, one (2, 16) batch"), log);
        assertTrue(log.contains("| feed-forward in | 32 x 16 x 32 | ") && log.contains("matmul peak on these shapes: "),
                log);
        // 6 x matmul parameters (2 layers of 4E^2 + 2E x FFN, and the E x V head) + 12 x layers x T x E.
        double e = 16;
        double v = 301; // --compact 300 and the unknown id
        assertEquals(6 * (2 * (4 * e * e + 2 * e * 32) + e * v) + 12.0 * 2 * 16 * e, m[0].flopPerToken(), 1e-6,
                "the baseline's FLOP per token");
        assertTrue(m[1].flopPerToken() > m[0].flopPerToken(), "A_fgram's work is added");
        assertTrue(log.contains("| baseline | ") && log.contains("of the matmul peak"), log);
        // The profiler ran: each model's steps, with PyTorch's matmul among the operators.
        assertTrue(log.contains("profile of 1 baseline steps: ") && log.contains("profile of 1 scone steps: "), log);
        assertTrue(log.contains("| aten::mm | "), log);
        for (String row : new String[] {"| host ids handed over (the trainer's path) | ",
                "| ids read back and the f-gram ids checked | ", "| token ids alone, matched by the block | ",
                "| T alone (no f-gram work) | ", "| of which reading both id arrays back | "}) {
            assertTrue(log.contains(row), row + " in " + log);
        }
    }
}
