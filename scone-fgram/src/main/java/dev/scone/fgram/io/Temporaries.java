package dev.scone.fgram.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * scone's temporary files and folders: hidden, beside what they become, named after it and after
 * the process that writes them ({@code .NAME.p<pid>.<random><suffix>}), so that a later run of
 * the same step recognizes the leftovers of a killed one and removes them (with a log line),
 * while the temporaries of a process still running are left alone. And the publication of a
 * folder as one set: filled while hidden, then renamed into place, so a kill never leaves a mix
 * of old and new files.
 *
 * <p>A leftover is stale when the process named in it no longer runs on this machine. Names from
 * earlier scone versions (no process id) are stale when older than {@link #LEGACY_AGE}.
 */
public final class Temporaries {

    private static final Logger LOG = LoggerFactory.getLogger(Temporaries.class);

    /** How old a leftover without a process id must be before it is taken for stale. */
    public static final Duration LEGACY_AGE = Duration.ofHours(1);

    private static final Pattern OWNED = Pattern.compile("p(\\d+)\\.[0-9a-z]+");

    private Temporaries() {}

    /**
     * The hidden name prefix of {@code target}'s temporaries of one kind.
     *
     * @param target what the temporary becomes
     * @param kind a tag between the name and the owner ({@code ""} or, say, {@code "old."})
     * @return {@code .NAME.kind}
     */
    private static String prefix(Path target, String kind) {
        return "." + target.getFileName() + "." + kind;
    }

    private static String ownedName(Path target, String kind, String suffix) {
        return prefix(target, kind) + "p" + ProcessHandle.current().pid() + "."
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36) + suffix;
    }

    /**
     * Creates an empty hidden temporary file beside {@code target}, after removing the stale
     * temporaries of the same target and suffix.
     *
     * @param target the file it becomes
     * @param suffix the kind of temporary, e.g. {@code ".partial"}
     * @return the new file
     * @throws IOException when it cannot be created
     */
    public static Path createFile(Path target, String suffix) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        removeStale(abs, "", suffix);
        while (true) {
            try {
                return Files.createFile(abs.resolveSibling(ownedName(abs, "", suffix)));
            } catch (FileAlreadyExistsException e) {
                // another random name
            }
        }
    }

    /**
     * Creates an empty hidden temporary folder beside {@code target}, after removing the stale
     * temporary folders of the same target (those being filled and those being swapped out).
     *
     * @param target the folder it becomes
     * @return the new folder
     * @throws IOException when it cannot be created
     */
    public static Path createFolder(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        removeStale(abs, "", "");
        removeStale(abs, "old.", "");
        while (true) {
            try {
                return Files.createDirectory(abs.resolveSibling(ownedName(abs, "", "")));
            } catch (FileAlreadyExistsException e) {
                // another random name
            }
        }
    }

    /**
     * Creates a hidden temporary file in {@code dir} for a step's scratch data (not for a
     * particular target), after removing that step's stale scratch files there.
     *
     * @param dir where the scratch files go
     * @param step the step's name, e.g. {@code "scone-count"}
     * @param suffix the kind, e.g. {@code ".run"}
     * @return the new file
     * @throws IOException when it cannot be created
     */
    public static Path createScratch(Path dir, String step, String suffix) throws IOException {
        return createFile(dir.resolve(step), suffix);
    }

    /**
     * Removes a step's stale scratch files in {@code dir} (its own hidden ones, and the visible
     * {@code step-*suffix} files of earlier scone versions older than {@link #LEGACY_AGE}), each
     * with a log line; a step calls it when it starts, whether or not it will spill again.
     *
     * @param dir the scratch folder
     * @param step the step's name
     * @param suffix the scratch files' suffix
     * @return the leftovers removed
     */
    public static List<Path> removeStaleScratch(Path dir, String step, String suffix) {
        List<Path> removed = new ArrayList<>(removeStale(dir.resolve(step), "", suffix));
        if (!Files.isDirectory(dir)) {
            return removed;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(step + "-")
                    && p.getFileName().toString().endsWith(suffix)).toList()) {
                if (isStale(p, "")) {
                    Files.deleteIfExists(p);
                    removed.add(p);
                    LOG.info("removed {}, left by an interrupted run", p);
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot clean {} of leftovers", dir, e);
        }
        return removed;
    }

    /**
     * Removes the stale temporaries of {@code target} of one kind (files or folders), each with a
     * log line.
     *
     * @param target what they would have become
     * @param kind {@code ""} for temporaries being filled, {@code "old."} for folders being swapped out
     * @param suffix their suffix ({@code ""} for folders)
     * @return the leftovers removed
     */
    public static List<Path> removeStale(Path target, String kind, String suffix) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        String prefix = prefix(abs, kind);
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return removed;
        }
        List<Path> candidates;
        try (Stream<Path> s = Files.list(dir)) {
            candidates = s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(suffix) && n.length() > prefix.length() + suffix.length();
            }).toList();
        } catch (IOException e) {
            LOG.debug("cannot list {} for leftovers", dir, e);
            return removed;
        }
        for (Path p : candidates) {
            String n = p.getFileName().toString();
            String middle = n.substring(prefix.length(), n.length() - suffix.length());
            if (kind.isEmpty() && middle.startsWith("old.")) {
                continue; // a folder being swapped out: its own kind
            }
            if (isStale(p, middle)) {
                try {
                    deleteTree(p);
                    removed.add(p);
                    LOG.info("removed {}, left by an interrupted run", p);
                } catch (IOException e) {
                    LOG.warn("could not remove the leftover {}: {}", p, e.toString());
                }
            }
        }
        return removed;
    }

    private static boolean isStale(Path p, String middle) {
        Matcher m = OWNED.matcher(middle);
        if (m.matches()) {
            try {
                long pid = Long.parseLong(m.group(1));
                return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).isEmpty();
            } catch (NumberFormatException e) {
                return false;
            }
        }
        try {
            FileTime t = Files.getLastModifiedTime(p);
            return t.toInstant().isBefore(Instant.now().minus(LEGACY_AGE));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Publishes a filled temporary folder as {@code target} in one step for readers: a previous
     * {@code target} is first renamed to a hidden {@code .NAME.old.*} folder, then the new folder
     * is renamed into place and the old one deleted. A kill between the two renames leaves no
     * target (never a mix of old and new files) and a hidden old folder that the next run removes.
     *
     * @param filled the folder from {@link #createFolder}
     * @param target where it goes
     * @param replaceable whether an existing, non-empty {@code target} may be replaced (it must
     *     hold what this step writes, not someone else's files)
     * @param what what the folder is, for the refusal ("a tokenize output")
     * @throws IOException when {@code target} is something else, or a rename fails ({@code filled}
     *     is then left for the caller to delete)
     */
    public static void publishFolder(Path filled, Path target, Predicate<Path> replaceable, String what)
            throws IOException {
        Path abs = target.toAbsolutePath();
        Path old = null;
        if (Files.exists(abs)) {
            if (!Files.isDirectory(abs)) {
                throw new IOException(abs + " exists and is not a folder: not replacing it");
            }
            boolean empty;
            try (Stream<Path> s = Files.list(abs)) {
                empty = s.findAny().isEmpty();
            }
            if (!empty && !replaceable.test(abs)) {
                throw new IOException(abs + " exists and is not " + what + ": not replacing it");
            }
            old = abs.resolveSibling(ownedName(abs, "old.", ""));
            move(abs, old);
        }
        move(filled, abs);
        AtomicFiles.forceFolder(abs.getParent());
        if (old != null) {
            deleteTree(old);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /**
     * Deletes a file, or a folder and everything in it; nothing when it does not exist.
     *
     * @param p the file or folder
     * @throws IOException when something cannot be deleted
     */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(p);
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(q);
            }
        }
    }
}
