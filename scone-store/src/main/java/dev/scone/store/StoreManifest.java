package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * What a store holds and what it was built for: the manifest file ({@value #FILE_NAME}) of a
 * store folder. A UTF-8 text file of {@code key=value} lines, starting with the format name and
 * ending with the CRC32C of all earlier bytes, so a human can read it and a damaged one is
 * refused.
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
        String modelFingerprint, String mainModelFingerprint, long vectorFileBytes, long indexChecksum) {

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
        StringBuilder sb = new StringBuilder();
        sb.append("format=").append(FORMAT_NAME).append('\n');
        sb.append("formatVersion=").append(formatVersion).append('\n');
        sb.append("embeddingSize=").append(embeddingSize).append('\n');
        sb.append("dtype=").append(dtype.name()).append('\n');
        sb.append("maxN=").append(maxN).append('\n');
        sb.append("size=").append(size).append('\n');
        sb.append("tokenVocabularySize=").append(tokenVocabularySize).append('\n');
        sb.append("tokenVocabularyFingerprint=").append(tokenVocabularyFingerprint).append('\n');
        sb.append("fgramVocabularyFingerprint=").append(fgramVocabularyFingerprint).append('\n');
        sb.append("modelFingerprint=").append(modelFingerprint).append('\n');
        if (formatVersion >= MAIN_MODEL_VERSION) {
            sb.append("mainModelFingerprint=").append(mainModelFingerprint).append('\n');
        }
        sb.append("vectorFileBytes=").append(vectorFileBytes).append('\n');
        sb.append("indexChecksum=").append(hex(indexChecksum)).append('\n');
        byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        String tail = "checksum=" + hex(crc.getValue()) + "\n";
        byte[] all = new byte[body.length + tail.length()];
        System.arraycopy(body, 0, all, 0, body.length);
        System.arraycopy(tail.getBytes(StandardCharsets.US_ASCII), 0, all, body.length, tail.length());
        Files.write(file, all);
    }

    static StoreManifest read(Path file) throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new SconeFormatException(file, "no manifest: not an f-gram store, or one whose write never completed");
        }
        String text = new String(all, StandardCharsets.UTF_8);
        if (!text.startsWith("format=" + FORMAT_NAME + "\n")) {
            throw new SconeFormatException(file, "not an f-gram store manifest (first line is not format="
                    + FORMAT_NAME + ")");
        }
        int cut = text.lastIndexOf("checksum=");
        if (cut < 0 || !text.endsWith("\n")) {
            throw new SconeFormatException(file, "truncated manifest: no checksum line");
        }
        CRC32C crc = new CRC32C();
        byte[] body = text.substring(0, cut).getBytes(StandardCharsets.UTF_8);
        crc.update(body);
        String stored = text.substring(cut + "checksum=".length(), text.length() - 1);
        if (!stored.equals(hex(crc.getValue()))) {
            throw new SconeFormatException(file, "manifest checksum mismatch (stored " + stored + ", computed "
                    + hex(crc.getValue()) + "): the manifest is damaged");
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String line : text.substring(0, cut).split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new SconeFormatException(file, "malformed manifest line '" + line + "'");
            }
            kv.put(line.substring(0, eq), line.substring(eq + 1));
        }
        int version = intField(file, kv, "formatVersion");
        if (version < OLDEST_READABLE_VERSION || version > FORMAT_VERSION) {
            throw new SconeFormatException(file, "unknown store format version " + version + " (this code reads "
                    + OLDEST_READABLE_VERSION + " to " + FORMAT_VERSION + ")");
        }
        VectorDtype dtype;
        String d = field(file, kv, "dtype");
        try {
            dtype = VectorDtype.valueOf(d);
        } catch (IllegalArgumentException e) {
            throw new SconeFormatException(file, "unknown dtype '" + d + "'");
        }
        return new StoreManifest(version, intField(file, kv, "embeddingSize"), dtype, intField(file, kv, "maxN"),
                longField(file, kv, "size"), intField(file, kv, "tokenVocabularySize"),
                field(file, kv, "tokenVocabularyFingerprint"), field(file, kv, "fgramVocabularyFingerprint"),
                field(file, kv, "modelFingerprint"),
                version >= MAIN_MODEL_VERSION ? field(file, kv, "mainModelFingerprint") : UNSPECIFIED,
                longField(file, kv, "vectorFileBytes"),
                Long.parseUnsignedLong(hexField(file, kv, "indexChecksum"), 16));
    }

    private static String field(Path file, Map<String, String> kv, String key) throws SconeFormatException {
        String v = kv.get(key);
        if (v == null) {
            throw new SconeFormatException(file, "manifest lacks the field '" + key + "'");
        }
        return v;
    }

    private static String hexField(Path file, Map<String, String> kv, String key) throws SconeFormatException {
        String v = field(file, kv, key);
        if (!v.matches("[0-9a-f]{8}")) {
            throw new SconeFormatException(file, "manifest field " + key + "='" + v + "' is not 8 hex digits");
        }
        return v;
    }

    private static int intField(Path file, Map<String, String> kv, String key) throws SconeFormatException {
        long v = longField(file, kv, key);
        if (v > Integer.MAX_VALUE) {
            throw new SconeFormatException(file, "manifest field " + key + "=" + v + " is too large");
        }
        return (int) v;
    }

    private static long longField(Path file, Map<String, String> kv, String key) throws SconeFormatException {
        String v = field(file, kv, key);
        try {
            long x = Long.parseLong(v);
            if (x < 0) {
                throw new NumberFormatException();
            }
            return x;
        } catch (NumberFormatException e) {
            throw new SconeFormatException(file, "manifest field " + key + "='" + v + "' is not a non-negative integer");
        }
    }

    static String hex(long crc) {
        return String.format(Locale.ROOT, "%08x", crc & 0xFFFFFFFFL);
    }
}
