package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.ChildJvm;
import java.util.List;
import java.util.Map;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The class that Chronicle Map would compile at run time comes prebuilt, and only when it is the same. */
class ChronicleValueClassesTest {

    private static final String GLOBAL_STATE = "net.openhft.chronicle.hash.VanillaGlobalMutableState";

    @Test
    void aProcessThatWritesAndOpensAStoreNeverRunsTheCompiler(@TempDir Path tmp) throws Exception {
        ChildJvm.Result r = ChildJvm.run(StoreOpenChild.class, Map.of(), List.of("-verbose:class"), 180,
                tmp.resolve("store").toString());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("FOUND=300 OUTCOMES={" + GLOBAL_STATE + "=INSTALLED}"), r.output());
        // javac's attribution and code generation load only when something is compiled
        assertFalse(r.output().contains("com.sun.tools.javac.comp.Attr "), "javac ran in the child JVM");
        assertFalse(r.output().contains("com.sun.tools.javac.jvm.Gen "), "javac ran in the child JVM");
    }

    @Test
    void theBuildRecordedTheSourceThatChronicleGeneratesNow() throws Exception {
        Map<String, ChronicleValueClasses.Outcome> outcomes = ChronicleValueClasses.install();
        assertEquals(ChronicleValueClasses.INTERFACES, List.copyOf(outcomes.keySet()));
        // INSTALLED in a fresh JVM (above); PRESENT here if another test class opened a map first
        assertTrue(outcomes.get(GLOBAL_STATE) == ChronicleValueClasses.Outcome.INSTALLED
                || outcomes.get(GLOBAL_STATE) == ChronicleValueClasses.Outcome.PRESENT, outcomes.toString());
        String source = ChronicleValueClasses.generateSource(Class.forName(GLOBAL_STATE));
        try (var in = ChronicleValueClasses.class.getResourceAsStream(ChronicleValueClasses.RESOURCE_FOLDER
                + GLOBAL_STATE + ChronicleValueClasses.NATIVE_SUFFIX + ".sha256")) {
            assertEquals(new String(in.readAllBytes(), "US-ASCII").trim(), ChronicleValueClasses.sha256(source));
        }
    }

    @Test
    void aClassBuiltFromOtherSourceIsNeverDefined() {
        assertEquals(ChronicleValueClasses.Outcome.STALE,
                ChronicleValueClasses.define(GLOBAL_STATE, new byte[] {1, 2, 3}, "0".repeat(64)));
        assertEquals(ChronicleValueClasses.Outcome.UNAVAILABLE,
                ChronicleValueClasses.define("no.such.Interface", new byte[] {1, 2, 3}, "0".repeat(64)));
    }
}
