package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher that {@code mvn -B package} makes ({@code target/scone/bin/scone}) runs the command
 * line without Maven, from any folder and through a link, and fails the way the commands do.
 */
class LauncherIT {

    private record Run(int status, String out, String err) {}

    private static Path launcher() {
        String path = System.getProperty("scone.launcher");
        assertTrue(path != null && Files.isExecutable(Path.of(path)), "no executable launcher at " + path);
        return Path.of(path);
    }

    private static Run run(Path workingDirectory, Path launcher, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(launcher.toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("launcher", ".out");
        Path err = Files.createTempFile("launcher", ".err");
        try {
            Process p = new ProcessBuilder(command).directory(workingDirectory.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("the launcher did not finish in 120 s: " + command);
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    @Test
    void helpRunsFromAnyFolderAndThroughALink(@TempDir Path elsewhere) throws Exception {
        Run help = run(elsewhere, launcher(), "--help");
        assertEquals(0, help.status(), help.out() + help.err());
        assertTrue(help.out().contains("Usage: scone"), help.out());
        for (String command : List.of("tokenize", "count", "train", "eval", "precompute", "export", "generate",
                "verify", "demo", "experiment")) {
            assertTrue(help.out().contains(command), command + " in " + help.out());
        }

        Path link = elsewhere.resolve("my-scone");
        Files.createSymbolicLink(link, launcher());
        Run train = run(elsewhere, link, "train", "--help");
        assertEquals(0, train.status(), train.out() + train.err());
        assertTrue(train.out().contains("--seed=N"), train.out());
    }

    @Test
    void aFailureIsOneLineAndStatusTwo(@TempDir Path elsewhere) throws Exception {
        Path missing = elsewhere.resolve("no-such-model");
        Run r = run(elsewhere, launcher(), "eval", "--model", missing.toString());
        assertEquals(2, r.status(), r.out() + r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].startsWith("scone eval: ") && lines[0].contains(missing.toString()), r.err());
    }

    @Test
    void theLauncherCarriesTheProjectsJvmOptions() throws IOException {
        String script = Files.readString(launcher(), StandardCharsets.UTF_8);
        assertTrue(script.contains("-Dai.djl.offline=true") && script.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"),
                script);
        assertTrue(!script.contains("@scone."), "every placeholder filled in: " + script);
    }
}
