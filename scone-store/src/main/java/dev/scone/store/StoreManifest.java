package dev.scone.store;

import dev.scone.fgram.io.KeyValueText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What a store holds and what it was built for: the manifest file ({@value #FILE_NAME}) of a
 * store folder, in scone's {@link KeyValueText} form: {@code key=value} lines starting with the
 * format name and ending with the CRC32C of all earlier bytes, so a human can read it and a
 * damaged one is refused.
 *
 * <p>Format version 3 adds the {@code mainModelFingerprint} line and a vector file header that
 * records which model's vectors it holds; versions 1 and 2 still read, with the main-model
 * fingerprint {@value #UNSPECIFIED}.
 *
 * @param formatVersion the store format version ({@value #FORMAT_VERSION} for stores written now)
 * @param embeddingSize d, the length of every vector
 * @param dtype how vectors are stored
 * @param maxN K, the longest f-gram length
 * @param size S, the number of f-grams stored
 * @param tokenVocabularySize size of the token vocabulary f-gram tokens are drawn from
 * @param tokenVocabularyFingerprint fingerprint of the token vocabulary (supplied by the writer's caller)
 * @param fgramVocabularyFingerprint {@code FgramVocabulary.fingerprint()} of V_fgram
 * @param modelFingerprint fingerprint of the weights that produced the vectors (T and A_fgram);
 *     the vector file's header records it too
 * @param mainModelFingerprint fingerprint of the serving weights (token embedding, positions,
 *     decoder, output head: everything but A_fgram) of the model whose A_fgram produced the
 *     vectors; {@value #UNSPECIFIED} when the writer was not given one, and for format versions 1 and 2
 * @param vectorFileBytes exact size of the vector file
 * @param indexChecksum CRC32C of the index file as written
 */
public record StoreManifest(int formatVersion, int embeddingSize, VectorDtype dtype, int maxN, long size,
        int tokenVocabularySize, String tokenVocabularyFingerprint, String fgramVocabularyFingerprint,
        String modelFingerprint, String mainModelFingerprint, long vectorFileBytes, long indexChecksum)
        implements StoreDescription {

    /** The manifest's file name inside a store folder. */
    public static final String FILE_NAME = "manifest.txt";
    /** The format name on the manifest's first line. */
    public static final String FORMAT_NAME = "scone-fgram-store";
    /** The format version this code writes (and the newest it reads). */
    public static final int FORMAT_VERSION = 3;
    /** The oldest format version this code reads (version 1 also stored a filter file, now ignored). */
    public static final int OLDEST_READABLE_VERSION = 1;
    /** The first format version with the {@code mainModelFingerprint} field and a bound vector file. */
    static final int MAIN_MODEL_VERSION = 3;
    /** How messages name the manifest. */
    private static final String WHAT = "store manifest";
    /** The value of a fingerprint the writer was not given. */
    public static final String UNSPECIFIED = "unspecified";

    /**
     * Checks the values.
     *
     * @throws NullPointerException for a missing fingerprint or dtype
     * @throws IllegalArgumentException for a main-model fingerprint in a format version that has none
     */
    public StoreManifest {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(tokenVocabularyFingerprint, "tokenVocabularyFingerprint");
        Objects.requireNonNull(fgramVocabularyFingerprint, "fgramVocabularyFingerprint");
        Objects.requireNonNull(modelFingerprint, "modelFingerprint");
        Objects.requireNonNull(mainModelFingerprint, "mainModelFingerprint");
        if (formatVersion < MAIN_MODEL_VERSION && !UNSPECIFIED.equals(mainModelFingerprint)) {
            throw new IllegalArgumentException("format version " + formatVersion + " has no mainModelFingerprint"
                    + " field, got '" + mainModelFingerprint + "'");
        }
    }

    /**
     * A manifest without a main-model fingerprint ({@value #UNSPECIFIED}), as format versions 1
     * and 2 wrote.
     *
     * @param formatVersion the store format version
     * @param embeddingSize d
     * @param dtype how vectors are stored
     * @param maxN K
     * @param size S
     * @param tokenVocabularySize the token vocabulary's size
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint
     * @param fgramVocabularyFingerprint V_fgram's fingerprint
     * @param modelFingerprint fingerprint of the weights that produced the vectors
     * @param vectorFileBytes exact size of the vector file
     * @param indexChecksum CRC32C of the index file
     */
    public StoreManifest(int formatVersion, int embeddingSize, VectorDtype dtype, int maxN, long size,
            int tokenVocabularySize, String tokenVocabularyFingerprint, String fgramVocabularyFingerprint,
            String modelFingerprint, long vectorFileBytes, long indexChecksum) {
        this(formatVersion, embeddingSize, dtype, maxN, size, tokenVocabularySize, tokenVocabularyFingerprint,
                fgramVocabularyFingerprint, modelFingerprint, UNSPECIFIED, vectorFileBytes, indexChecksum);
    }

    /**
     * What the vector file's header (format version 2) records of this manifest's model: 16 bytes
     * derived from {@link #modelFingerprint()} (see {@link #bindingOf}).
     *
     * @return 16 bytes
     */
    byte[] vectorBinding() {
        return bindingOf(modelFingerprint);
    }

    /**
     * What the vector file's header (format version 2) records of this manifest's f-gram
     * vocabulary: the first 8 bytes derived from {@link #fgramVocabularyFingerprint()}.
     *
     * @return 8 bytes
     */
    byte[] vocabularyBinding() {
        return Arrays.copyOf(bindingOf(fgramVocabularyFingerprint), 8);
    }

    /**
     * The 16 bytes a fingerprint is recorded as in a vector file header: the fingerprint itself
     * when it is 32 lower-case hex digits (as {@code ParameterFingerprint} and
     * {@code FgramVocabulary.fingerprint()} give), else the first 16 bytes of the SHA-256 of its
     * UTF-8 text.
     *
     * @param fingerprint a manifest fingerprint
     * @return 16 bytes
     */
    static byte[] bindingOf(String fingerprint) {
        if (fingerprint.length() == 32
                && fingerprint.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
            return HexFormat.of().parseHex(fingerprint);
        }
        try {
            return Arrays.copyOf(MessageDigest.getInstance("SHA-256")
                    .digest(fingerprint.getBytes(StandardCharsets.UTF_8)), 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    void write(Path file) throws IOException {
        ManifestText.save(ManifestText.write(FORMAT_NAME, this, MAIN_MODEL_VERSION, b -> b)
                .put("vectorFileBytes", vectorFileBytes).put("indexChecksum", hex(indexChecksum)), file);
    }

    static StoreManifest read(Path file) throws IOException {
        ManifestText.Parsed parsed = ManifestText.read(file, FORMAT_NAME, WHAT,
                "no manifest: not an f-gram store, or one whose write never completed", OLDEST_READABLE_VERSION,
                FORMAT_VERSION);
        KeyValueText kv = parsed.kv();
        ManifestText.Common c = ManifestText.common(file, WHAT, parsed, MAIN_MODEL_VERSION);
        return new StoreManifest(c.formatVersion(), c.embeddingSize(), c.dtype(), c.maxN(), c.size(),
                c.tokenVocabularySize(), c.tokenVocabularyFingerprint(), c.fgramVocabularyFingerprint(),
                c.modelFingerprint(), c.mainModelFingerprint(),
                ManifestText.field(file, WHAT, () -> kv.count("vectorFileBytes", Long.MAX_VALUE)),
                ManifestText.field(file, WHAT, () -> kv.hex32("indexChecksum")));
    }

    static String hex(long crc) {
        return KeyValueText.hex32(crc);
    }
}
