package dev.scone.store;

import dev.scone.fgram.io.KeyValueText;
import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The manifest of a sharded f-gram store ({@value #FILE_NAME} in its folder): what the store as a
 * whole holds and was built for, and the list of its shards, each an ordinary
 * {@link FgramStore} folder, with its size and fingerprint. Written in scone's
 * {@link KeyValueText} form as {@link StoreManifest} is: the same description fields in the same
 * order, sealed by a CRC32C.
 *
 * <p>F-gram {@code g} lives in shard {@link #shardOf shardOf(g)} = {@code
 * floorMod(FgramVocabulary.hash(g), shards)}. A shard's fingerprint is the first 16 bytes (hex)
 * of the SHA-256 of its own manifest file, which records its size, index checksum, vector file
 * length and the vocabulary and model fingerprints: a shard rewritten, or taken from another
 * store, no longer matches.
 *
 * <p>Format version 2 adds the {@code mainModelFingerprint} line; version 1 still reads, with
 * the main-model fingerprint {@value StoreManifest#UNSPECIFIED}.
 *
 * @param formatVersion {@value #FORMAT_VERSION} for manifests written now
 * @param embeddingSize d
 * @param dtype how vectors are stored (every shard the same)
 * @param maxN K
 * @param size S, all shards together
 * @param tokenVocabularySize the token vocabulary's size
 * @param tokenVocabularyFingerprint the token vocabulary's fingerprint
 * @param fgramVocabularyFingerprint {@code FgramVocabulary.fingerprint()} of the whole V_fgram
 * @param modelFingerprint the fingerprint of the weights the vectors come from (T and A_fgram)
 * @param mainModelFingerprint the fingerprint of the serving weights (everything but A_fgram) of
 *     the model the store was precomputed from, or {@value StoreManifest#UNSPECIFIED}
 * @param shards the shards, shard i at index i
 */
public record ShardedStoreManifest(int formatVersion, int embeddingSize, VectorDtype dtype, int maxN, long size,
        int tokenVocabularySize, String tokenVocabularyFingerprint, String fgramVocabularyFingerprint,
        String modelFingerprint, String mainModelFingerprint, List<Shard> shards) implements StoreDescription {

    /** The manifest's file name inside a sharded store folder. */
    public static final String FILE_NAME = "sharded-manifest.txt";
    /** The format name on the first line. */
    public static final String FORMAT_NAME = "scone-sharded-fgram-store";
    /** The format version this code writes (and the newest it reads). */
    public static final int FORMAT_VERSION = 2;
    /** The oldest format version this code reads (version 1 has no main-model fingerprint). */
    public static final int OLDEST_READABLE_VERSION = 1;
    /** The first format version with the {@code mainModelFingerprint} field. */
    static final int MAIN_MODEL_VERSION = 2;
    /** The most shards a manifest may list. */
    private static final long MAX_SHARDS = 1_000_000;
    /** How messages name the manifest. */
    private static final String WHAT = "sharded store manifest";
    /** How f-grams are assigned to shards, recorded so that a future change is detected. */
    public static final String SHARD_FUNCTION = "floorMod(FgramVocabulary.hash, shards)";

    /**
     * One shard.
     *
     * @param folder the shard's store folder, relative to the sharded store's folder
     * @param size the f-grams it holds
     * @param fingerprint SHA-256 (16 bytes, hex) of its manifest file
     */
    public record Shard(String folder, long size, String fingerprint) {
        /** Checks the values. */
        public Shard {
            Objects.requireNonNull(folder, "folder");
            Objects.requireNonNull(fingerprint, "fingerprint");
            if (folder.isEmpty() || folder.contains("/") || folder.contains("\\") || folder.startsWith(".")
                    || folder.contains(" ") || folder.contains("\n")) {
                throw new IllegalArgumentException("shard folder must be a plain folder name, got '" + folder + "'");
            }
            if (size < 0) {
                throw new IllegalArgumentException("shard size must be >= 0, got " + size);
            }
        }
    }

    /** Copies the shard list and checks the values. */
    public ShardedStoreManifest {
        Objects.requireNonNull(mainModelFingerprint, "mainModelFingerprint");
        shards = List.copyOf(shards);
        if (shards.isEmpty()) {
            throw new IllegalArgumentException("a sharded store has at least one shard");
        }
        if (formatVersion < MAIN_MODEL_VERSION && !StoreManifest.UNSPECIFIED.equals(mainModelFingerprint)) {
            throw new IllegalArgumentException("sharded format version " + formatVersion
                    + " has no mainModelFingerprint field, got '" + mainModelFingerprint + "'");
        }
    }

    /**
     * A manifest without a main-model fingerprint ({@value StoreManifest#UNSPECIFIED}), as format
     * version 1 wrote.
     *
     * @param formatVersion the sharded format version
     * @param embeddingSize d
     * @param dtype how vectors are stored
     * @param maxN K
     * @param size S, all shards together
     * @param tokenVocabularySize the token vocabulary's size
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint
     * @param fgramVocabularyFingerprint V_fgram's fingerprint
     * @param modelFingerprint the fingerprint of the weights the vectors come from
     * @param shards the shards
     */
    public ShardedStoreManifest(int formatVersion, int embeddingSize, VectorDtype dtype, int maxN, long size,
            int tokenVocabularySize, String tokenVocabularyFingerprint, String fgramVocabularyFingerprint,
            String modelFingerprint, List<Shard> shards) {
        this(formatVersion, embeddingSize, dtype, maxN, size, tokenVocabularySize, tokenVocabularyFingerprint,
                fgramVocabularyFingerprint, modelFingerprint, StoreManifest.UNSPECIFIED, shards);
    }

    /**
     * @param tokens array holding the f-gram
     * @param from its first token
     * @param len its length
     * @param shards the number of shards, at least 1
     * @return the shard that holds it
     */
    public static int shardOf(int[] tokens, int from, int len, int shards) {
        return shardOf(dev.scone.fgram.vocab.FgramVocabulary.hash(tokens, from, len), shards);
    }

    /**
     * @param hash the f-gram's {@code FgramVocabulary.hash}
     * @param shards the number of shards, at least 1
     * @return the shard that holds it
     */
    static int shardOf(long hash, int shards) {
        return (int) Math.floorMod(hash, (long) shards);
    }

    /**
     * @param shard shard index
     * @return the folder name shard {@code shard} is written to ({@code shard-00000}, ...)
     */
    public static String shardFolder(int shard) {
        return String.format(java.util.Locale.ROOT, "shard-%05d", shard);
    }

    /**
     * @param shardDir a shard's store folder
     * @return its fingerprint: SHA-256 (16 bytes, hex) of its manifest file
     * @throws SconeFormatException when the shard has no manifest
     * @throws IOException when it cannot be read
     */
    public static String fingerprintOf(Path shardDir) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(shardDir.resolve(StoreManifest.FILE_NAME));
        } catch (NoSuchFileException e) {
            throw new SconeFormatException(shardDir, "no " + StoreManifest.FILE_NAME
                    + ": not a store, or one whose write never completed");
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** @return the number of shards */
    public int shardCount() {
        return shards.size();
    }

    /**
     * Writes the manifest atomically.
     *
     * @param file the target file
     * @throws IOException when writing fails
     */
    void write(Path file) throws IOException {
        KeyValueText.Builder b = ManifestText.write(FORMAT_NAME, this, MAIN_MODEL_VERSION,
                t -> t.put("shardFunction", SHARD_FUNCTION)).put("shards", shards.size());
        for (int i = 0; i < shards.size(); i++) {
            Shard s = shards.get(i);
            b.put("shard." + i, s.folder() + " " + s.size() + " " + s.fingerprint());
        }
        ManifestText.save(b, file);
    }

    /**
     * Reads and checks a sharded manifest.
     *
     * @param file the manifest file
     * @return the manifest
     * @throws SconeFormatException when it is missing, damaged or foreign
     * @throws IOException when it cannot be read
     */
    public static ShardedStoreManifest read(Path file) throws IOException {
        ManifestText.Parsed parsed = ManifestText.read(file, FORMAT_NAME, WHAT,
                "no sharded manifest: not a sharded f-gram store, or one whose write never completed",
                OLDEST_READABLE_VERSION, FORMAT_VERSION);
        KeyValueText kv = parsed.kv();
        String function = ManifestText.field(file, WHAT, () -> kv.string("shardFunction"));
        if (!SHARD_FUNCTION.equals(function)) {
            throw new SconeFormatException(file, "unknown shard function '" + function + "' (this code uses "
                    + SHARD_FUNCTION + ")");
        }
        ManifestText.Common c = ManifestText.common(file, WHAT, parsed, MAIN_MODEL_VERSION);
        long count = ManifestText.field(file, WHAT, () -> kv.count("shards", MAX_SHARDS));
        if (count < 1) {
            throw new SconeFormatException(file, "impossible shard count " + count);
        }
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String key = "shard." + i;
            String value = ManifestText.field(file, WHAT, () -> kv.string(key));
            String[] parts = value.split(" ");
            try {
                if (parts.length != 3 || !parts[2].matches("[0-9a-f]{32}")) {
                    throw new IllegalArgumentException("expected 'folder size fingerprint'");
                }
                shards.add(new Shard(parts[0], Long.parseLong(parts[1]), parts[2]));
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(file, "malformed entry " + key + "='" + value + "': " + e.getMessage());
            }
        }
        return new ShardedStoreManifest(c.formatVersion(), c.embeddingSize(), c.dtype(), c.maxN(), c.size(),
                c.tokenVocabularySize(), c.tokenVocabularyFingerprint(), c.fgramVocabularyFingerprint(),
                c.modelFingerprint(), c.mainModelFingerprint(), shards);
    }
}
