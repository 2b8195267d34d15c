package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proves Chronicle Map works with the project's JVM options and writes nothing to the home folder. */
class ChronicleSmokeTest {

    @Test
    void persistedMapRoundTripsWithoutTouchingHome(@TempDir Path tmp) throws Exception {
        Path home = tmp.resolve("home");
        Files.createDirectories(home);
        Path file = tmp.resolve("smoke.cm");
        ChildJvm.Result r = ChildJvm.run(ChronicleChild.class, Map.of("HOME", home.toString()),
                List.of("-Dchronicle.analytics.disable=true", "-Duser.home=" + home), 180, file.toString());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("SIZE=1000 OK=1000"), r.output());
        assertTrue(Files.size(file) > 0);
        // Chronicle's analytics would leave files here; JNA (which Chronicle uses) may only create its
        // empty temporary folder under .cache/JNA.
        try (Stream<Path> s = Files.walk(home)) {
            assertEquals(List.of(), s.filter(Files::isRegularFile).toList(), "files written to the home folder");
        }
    }
}
