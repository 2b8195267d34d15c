package dev.scone.examples;

import java.nio.file.Files;
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

    /**
     * Checks that an option names an existing regular file.
     *
     * @return the file
     * @throws IllegalArgumentException naming the option and the file
     */
    static Path requireFile(Path file, String option) {
        requireExists(file, option);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(option + " " + file + " is a folder, not a file");
        }
        return file;
    }

    /**
     * Checks that an option names an existing folder.
     *
     * @return the folder
     * @throws IllegalArgumentException naming the option and the path
     */
    static Path requireFolder(Path dir, String option) {
        requireExists(dir, option);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(option + " " + dir + " is a file, not a folder");
        }
        return dir;
    }

    /**
     * Checks that an option names a file or folder that exists.
     *
     * @return the path
     * @throws IllegalArgumentException naming the option and the path
     */
    static Path requireExists(Path path, String option) {
        if (path == null || !Files.exists(path)) {
            throw new IllegalArgumentException(option + " " + path + " does not exist");
        }
        return path;
    }

    /**
     * Checks an option's value against its lower bound.
     *
     * @throws IllegalArgumentException naming the option
     */
    static void requireAtLeast(long value, long min, String option) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be >= " + min + ", got " + value);
        }
    }

    /** @return the data folder fetched by scripts/fetch-data.sh ({@code -Dscone.data.dir}, else ./data) */
    static Path dataDir() {
        String p = System.getProperty("scone.data.dir");
        return Path.of(p != null ? p : "data").toAbsolutePath().normalize();
    }
}
