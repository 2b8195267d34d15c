package dev.scone.examples;

import java.nio.file.Path;

/** Process-wide settings every scone main applies before touching DJL or Chronicle Map. */
final class CliSupport {

    private CliSupport() {}

    /** Makes sure nothing reaches the network even when the JVM was started without scone's options. */
    static void configureOffline() {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("chronicle.analytics.disable", "true");
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** @return the data folder fetched by scripts/fetch-data.sh ({@code -Dscone.data.dir}, else ./data) */
    static Path dataDir() {
        String p = System.getProperty("scone.data.dir");
        return Path.of(p != null ? p : "data").toAbsolutePath().normalize();
    }
}
