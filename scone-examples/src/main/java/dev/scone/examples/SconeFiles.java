package dev.scone.examples;

import dev.scone.core.InferenceModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.train.Checkpoint;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.fgram.vocab.MappedFgramVocabulary;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStoreCorruptedException;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreManifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Recognizes scone's files and folders and checks each one completely, saying what it checked:
 * token-id files, token compactions, f-gram vocabularies, training checkpoints, inference exports
 * (by their first bytes), stores and sharded stores (by their manifests). A folder that is none of
 * these is walked: every scone file and store in it (at any depth) is checked, anything else is
 * listed as skipped. Behind {@code scone verify}.
 */
public final class SconeFiles {

    /** What was found at one path. */
    public enum Outcome {
        /** A scone file or store that passed every check. */
        OK,
        /** A scone file or store that failed a check, or a path that is not one. */
        FAIL,
        /** Inside a folder: a file that is no scone file, or a hidden entry. */
        SKIPPED
    }

    /**
     * One checked (or skipped) path.
     *
     * @param path the file or folder
     * @param outcome what came of it
     * @param what the kind and the figures read (for OK), the problem (for FAIL), or why it was skipped
     * @param checks what was checked (for OK), else empty
     */
    public record Finding(Path path, Outcome outcome, String what, String checks) {

        /** @return one line: outcome, path, and what was found */
        public String line() {
            String where = what.startsWith(path + ":") ? what : path + ": " + what; // messages often name it
            return String.format(Locale.ROOT, "%-7s %s%s", outcome, where, checks.isEmpty() ? ""
                    : " (checked: " + checks + ")");
        }
    }

    private SconeFiles() {}

    /**
     * Checks a file or folder.
     *
     * @param path a scone file, store, sharded store, or any folder holding them
     * @return one finding per file or store, in path order; a path that does not exist, or a file
     *     that is no scone file, is one FAIL
     */
    public static List<Finding> verify(Path path) {
        List<Finding> out = new ArrayList<>();
        if (!Files.exists(path)) {
            out.add(fail(path, "no such file or folder"));
        } else if (Files.isDirectory(path)) {
            walk(path, true, out);
        } else {
            Finding f = checkFile(path);
            out.add(f != null ? f : fail(path, "not a scone file (" + describeHead(path) + ")"));
        }
        return out;
    }

    private static void walk(Path dir, boolean top, List<Finding> out) {
        if (Files.isRegularFile(dir.resolve(StoreManifest.FILE_NAME))) {
            out.add(checkStore(dir));
            return;
        }
        if (Files.isRegularFile(dir.resolve(ShardedStoreManifest.FILE_NAME))) {
            out.add(checkShardedStore(dir));
            return;
        }
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.sorted().toList();
        } catch (IOException e) {
            out.add(fail(dir, "cannot list the folder: " + e.getMessage()));
            return;
        }
        int before = out.size();
        for (Path p : entries) {
            if (p.getFileName().toString().startsWith(".")) {
                out.add(new Finding(p, Outcome.SKIPPED, "hidden (scone writes its temporary files hidden)", ""));
            } else if (Files.isDirectory(p)) {
                walk(p, false, out);
            } else {
                Finding f = checkFile(p);
                out.add(f != null ? f : new Finding(p, Outcome.SKIPPED, "not a scone file", ""));
            }
        }
        if (top && out.subList(before, out.size()).stream().noneMatch(f -> f.outcome() != Outcome.SKIPPED)) {
            out.add(fail(dir, "holds no scone file or store"));
        }
    }

    /** The check of one file by its first bytes, or null when it is no scone file. */
    private static Finding checkFile(Path file) {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(8);
        } catch (IOException e) {
            return fail(file, "cannot read: " + e.getMessage());
        }
        try {
            if (Arrays.equals(head, TokenIdFile.MAGIC)) {
                try (TokenIdFile f = TokenIdFile.open(file)) {
                    String origin = f.origin() == null ? "no recorded origin (format version 1)"
                            : "tokenizer " + f.origin().tokenizer() + ", compaction " + f.origin().compactionOrNone();
                    return ok(file, String.format(Locale.ROOT, "token-id file, %,d tokens in %,d documents, token"
                            + " vocabulary %,d, %s", f.tokenCount(), f.documentCount(), f.vocabularySize(), origin),
                            "header, offset and token checksums, document bounds");
                }
            }
            if (Arrays.equals(head, TokenCompaction.MAGIC)) {
                TokenCompaction c = TokenCompaction.load(file);
                return ok(file, String.format(Locale.ROOT, "token compaction, %,d of %,d token ids kept + the"
                        + " unknown id %d", c.keep(), c.originalVocabularySize(), c.unknownId()),
                        "checksum, the kept ids");
            }
            if (head.length == 8 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong()
                    == FgramVocabularyFile.MAGIC) {
                // One streaming pass over a mapped file: a vocabulary of any size is checked without
                // holding it on the heap (a file of format version 1 or 2 is read whole).
                try (MappedFgramVocabulary m = FgramVocabularyFile.open(file)) {
                    m.verify();
                    FgramVocabulary v = m.vocabulary();
                    FgramVocabularyFile.CountedOn on = m.countedOn();
                    String counted = on == null ? "no recorded corpus (format version 1)"
                            : String.format(Locale.ROOT, "counted on %,d tokens in %,d documents%s", on.tokens(),
                                    on.documents(), on.origin() == null ? "" : " (tokenizer " + on.origin().tokenizer()
                                            + ", compaction " + on.origin().compactionOrNone() + ")");
                    return ok(file, String.format(Locale.ROOT, "f-gram vocabulary (format version %d), %,d f-grams of"
                            + " 2..%d tokens, token vocabulary %,d, %s", m.formatVersion(), v.size(), v.maxN(),
                            v.tokenVocabularySize(), counted), m.isMapped()
                                    ? "header, block index and block checksums, every f-gram's tokens, fingerprint"
                                    : "checksum, every f-gram's tokens, fingerprint");
                }
            }
            if (Arrays.equals(head, Checkpoint.MAGIC)) {
                Checkpoint.Header h = Checkpoint.readHeader(file);
                return ok(file, String.format(Locale.ROOT, "training checkpoint, step %,d, %,d tokens seen",
                        h.step(), h.tokensSeen()), String.format(Locale.ROOT, "checksum of all %,d bytes, header", size(file)));
            }
            if (Arrays.equals(head, InferenceModel.MAGIC)) {
                InferenceModel.Header h = InferenceModel.readHeader(file);
                LanguageModelConfig c = h.config();
                return ok(file, String.format(Locale.ROOT, "inference export of a %s model, d = %d, %d layers,"
                        + " context %d, V = %,d", h.binding().isScone() ? "SCONE" : "baseline", c.embeddingSize(),
                        c.layers(), c.contextLength(), c.vocabularySize()),
                        String.format(Locale.ROOT, "checksum of all %,d bytes, header", size(file)));
            }
        } catch (IOException | FgramStoreCorruptedException | IllegalArgumentException e) {
            return fail(file, message(file, e));
        }
        return null;
    }

    private static Finding checkStore(Path dir) {
        try (FgramStore s = FgramStore.open(dir)) {
            s.verify();
            return ok(dir, String.format(Locale.ROOT, "f-gram store, %,d f-grams x %d %s, K = %d", s.size(),
                    s.embeddingSize(), s.dtype(), s.maxN()), "manifest, vector file header and size, index"
                    + " checksum, every f-gram's lookup, every row's checksum over its key and vector");
        } catch (IOException | FgramStoreCorruptedException | IllegalArgumentException e) {
            return fail(dir, message(dir, e));
        }
    }

    private static Finding checkShardedStore(Path dir) {
        try (ShardedFgramStore s = ShardedFgramStore.open(dir)) {
            s.verify();
            return ok(dir, String.format(Locale.ROOT, "sharded f-gram store, %d shards, %,d f-grams x %d %s",
                    s.manifest().shardCount(), s.size(), s.manifest().embeddingSize(), s.manifest().dtype()),
                    "sharded manifest, then every shard as a store");
        } catch (IOException | FgramStoreCorruptedException | IllegalArgumentException e) {
            return fail(dir, message(dir, e));
        }
    }

    /** The exception's message, which names its file; prefixed with {@code path} when it does not. */
    private static String message(Path path, Exception e) {
        String m = e.getMessage() != null ? e.getMessage() : e.toString();
        return e instanceof SconeFormatException || e instanceof FgramStoreCorruptedException
                || m.contains(path.toString()) ? m : path + ": " + m;
    }

    private static String describeHead(Path file) {
        long n = size(file);
        return n == 0 ? "empty" : "unknown first bytes, " + n + " bytes";
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static Finding ok(Path p, String what, String checks) {
        return new Finding(p, Outcome.OK, what, checks);
    }

    private static Finding fail(Path p, String what) {
        return new Finding(p, Outcome.FAIL, what, "");
    }
}
