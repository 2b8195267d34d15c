package dev.scone.store;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.KeyValueText;
import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What both manifests share: the {@link KeyValueText} form sealed by a CRC32C, the first line
 * {@code format=NAME}, the version range, and the description fields ({@link StoreDescription})
 * in one order.
 */
final class ManifestText {

    private ManifestText() {}

    /** A manifest read and checked by {@link #read}: its fields and its format version. */
    record Parsed(KeyValueText kv, int formatVersion) {}

    /** The description fields as read, before the owner adds its own. */
    record Common(int formatVersion, int embeddingSize, VectorDtype dtype, int maxN, long size,
            int tokenVocabularySize, String tokenVocabularyFingerprint, String fgramVocabularyFingerprint,
            String modelFingerprint, String mainModelFingerprint) {}

    /**
     * Starts a manifest: the format line, the version, then {@code between} (fields the owner
     * writes before the description), then the description, the main-model fingerprint from
     * {@code mainModelVersion} on.
     */
    static KeyValueText.Builder write(String format, StoreDescription d, int mainModelVersion,
            Function<KeyValueText.Builder, KeyValueText.Builder> between) {
        KeyValueText.Builder b = KeyValueText.builder("format=" + format).put("formatVersion", d.formatVersion());
        between.apply(b).put("embeddingSize", d.embeddingSize()).put("dtype", d.dtype().name())
                .put("maxN", d.maxN()).put("size", d.size()).put("tokenVocabularySize", d.tokenVocabularySize())
                .put("tokenVocabularyFingerprint", d.tokenVocabularyFingerprint())
                .put("fgramVocabularyFingerprint", d.fgramVocabularyFingerprint())
                .put("modelFingerprint", d.modelFingerprint());
        if (d.formatVersion() >= mainModelVersion) {
            b.put("mainModelFingerprint", d.mainModelFingerprint());
        }
        return b;
    }

    /** Writes a sealed manifest to {@code file} atomically. */
    static void save(KeyValueText.Builder b, Path file) throws IOException {
        byte[] bytes = b.toText(KeyValueText.Seal.CRC32C).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
    }

    /**
     * Reads and checks a manifest: present, its first line, its checksum, its version within
     * {@code [oldest, newest]}.
     *
     * @param what how to name the manifest in messages ("f-gram store manifest")
     * @param missing the problem a missing file is
     * @return the fields and the format version
     * @throws SconeFormatException naming the file and the problem
     */
    static Parsed read(Path file, String format, String what, String missing, int oldest, int newest)
            throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new SconeFormatException(file, missing);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new SconeFormatException(file, "not a " + what + " (not UTF-8 text)");
        }
        KeyValueText kv;
        try {
            kv = KeyValueText.parse(text, "format=" + format, KeyValueText.Seal.CRC32C);
        } catch (IllegalArgumentException e) {
            throw new SconeFormatException(file, (text.startsWith("format=" + format + "\n") ? what + ": "
                    : "not a " + what + ": ") + e.getMessage());
        }
        int version = field(file, what, () -> (int) kv.count("formatVersion", Integer.MAX_VALUE));
        if (version < oldest || version > newest) {
            throw new SconeFormatException(file, "unknown " + what.replace(" manifest", "") + " format version "
                    + version + " (this code reads " + oldest + " to " + newest + ")");
        }
        return new Parsed(kv, version);
    }

    /** The description fields of a manifest {@link #read} gave. */
    static Common common(Path file, String what, Parsed manifest, int mainModelVersion) throws SconeFormatException {
        KeyValueText kv = manifest.kv();
        int version = manifest.formatVersion();
        return field(file, what, () -> {
            String dtype = kv.string("dtype");
            VectorDtype parsed;
            try {
                parsed = VectorDtype.valueOf(dtype);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown dtype '" + dtype + "'");
            }
            return new Common(version, (int) kv.count("embeddingSize", Integer.MAX_VALUE), parsed,
                    (int) kv.count("maxN", Integer.MAX_VALUE), kv.count("size", Long.MAX_VALUE),
                    (int) kv.count("tokenVocabularySize", Integer.MAX_VALUE), kv.string("tokenVocabularyFingerprint"),
                    kv.string("fgramVocabularyFingerprint"), kv.string("modelFingerprint"),
                    version >= mainModelVersion ? kv.string("mainModelFingerprint") : StoreManifest.UNSPECIFIED);
        });
    }

    /** A value computed from the fields; {@link IllegalArgumentException}s name the file. */
    static <T> T field(Path file, String what, Supplier<T> f) throws SconeFormatException {
        try {
            return f.get();
        } catch (IllegalArgumentException e) {
            throw new SconeFormatException(file, what + ": " + e.getMessage());
        }
    }
}
