package dev.scone.fgram.corpus;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.SconeFormatException;
import it.unimi.dsi.fastutil.ints.IntArrays;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A smaller token vocabulary fitted on a training corpus: the {@code keep} most frequent original
 * ids (ties broken by the smaller id; ids never seen rank last, by id) become compact ids
 * {@code 0..keep-1} in that order, and every other original id becomes the one unknown id
 * {@link #unknownId()} {@code = keep}. So {@link #vocabularySize()} is {@code keep + 1}. Immutable
 * and thread-safe.
 *
 * <p>A model trained on compacted ids needs this mapping: {@link #save} writes it to a file
 * (format version 1, little-endian: magic "SCTOKCMP", int32 version, int32 original vocabulary
 * size, int32 keep, int32 flags = 0, int64 count of tokens mapped to unknown when fitted, then
 * {@code keep} entries of int32 original id and int64 count, in compact-id order, then the CRC32C
 * of everything before it); {@link #load} checks all of it.
 */
public final class TokenCompaction {

    /** The current file format version. */
    public static final int FORMAT_VERSION = 1;

    /** The file's first 8 bytes (do not modify). */
    public static final byte[] MAGIC = "SCTOKCMP".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER_BYTES = 32;
    static final int ENTRY_BYTES = Integer.BYTES + Long.BYTES;

    private final int originalVocabularySize;
    private final int[] kept; // compact id -> original id
    private final long[] keptCounts; // compact id -> count when fitted
    private final long unknownCount;
    private final int[] toCompact; // original id -> compact id

    private TokenCompaction(int originalVocabularySize, int[] kept, long[] keptCounts, long unknownCount) {
        this.originalVocabularySize = originalVocabularySize;
        this.kept = kept;
        this.keptCounts = keptCounts;
        this.unknownCount = unknownCount;
        this.toCompact = new int[originalVocabularySize];
        Arrays.fill(toCompact, kept.length);
        for (int c = 0; c < kept.length; c++) {
            toCompact[kept[c]] = c;
        }
    }

    /**
     * Fits a compaction on a corpus.
     *
     * @param corpus the training corpus
     * @param keep how many original ids to keep, in {@code [1, corpus.vocabularySize()]}
     * @return the compaction
     * @throws IllegalArgumentException when {@code keep} is out of range
     */
    public static TokenCompaction fit(TokenCorpus corpus, int keep) {
        Objects.requireNonNull(corpus, "corpus");
        int v = corpus.vocabularySize();
        if (keep < 1 || keep > v) {
            throw new IllegalArgumentException("keep must be in [1, " + v + "] (the corpus's vocabulary size), got " + keep);
        }
        long[] counts = new long[v];
        for (int d = 0; d < corpus.documentCount(); d++) {
            IntBuffer b = corpus.tokens(d);
            for (int i = b.position(); i < b.limit(); i++) {
                counts[b.get(i)]++;
            }
        }
        int[] order = new int[v];
        Arrays.setAll(order, i -> i);
        IntArrays.quickSort(order, (a, b) -> counts[a] != counts[b] ? Long.compare(counts[b], counts[a]) : Integer.compare(a, b));
        int[] kept = Arrays.copyOf(order, keep);
        long[] keptCounts = new long[keep];
        long unknown = corpus.tokenCount();
        for (int c = 0; c < keep; c++) {
            keptCounts[c] = counts[kept[c]];
            unknown -= keptCounts[c];
        }
        return new TokenCompaction(v, kept, keptCounts, unknown);
    }

    /**
     * Builds a compaction from its parts (as {@link #load} does), checking them.
     *
     * @param originalVocabularySize the original vocabulary size
     * @param kept the kept original ids in compact-id order
     * @param keptCounts their counts, non-increasing; equal counts in increasing id order
     * @param unknownCount tokens mapped to the unknown id when fitted
     * @return the compaction
     * @throws IllegalArgumentException naming the first violation
     */
    public static TokenCompaction of(int originalVocabularySize, int[] kept, long[] keptCounts, long unknownCount) {
        String problem = check(originalVocabularySize, kept, keptCounts, unknownCount);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return new TokenCompaction(originalVocabularySize, kept.clone(), keptCounts.clone(), unknownCount);
    }

    private static String check(int v, int[] kept, long[] counts, long unknownCount) {
        Objects.requireNonNull(kept, "kept");
        Objects.requireNonNull(counts, "keptCounts");
        if (v < 1) {
            return "original vocabulary size must be >= 1, got " + v;
        }
        if (kept.length < 1 || kept.length > v) {
            return "keep must be in [1, " + v + "], got " + kept.length;
        }
        if (counts.length != kept.length) {
            return kept.length + " kept ids but " + counts.length + " counts";
        }
        if (unknownCount < 0) {
            return "unknown count " + unknownCount + " is negative";
        }
        boolean[] seen = new boolean[v];
        for (int c = 0; c < kept.length; c++) {
            int id = kept[c];
            if (id < 0 || id >= v) {
                return "kept id " + id + " (compact id " + c + ") is outside the vocabulary [0, " + v + ")";
            }
            if (seen[id]) {
                return "original id " + id + " is kept twice (compact id " + c + ")";
            }
            seen[id] = true;
            if (counts[c] < 0) {
                return "count " + counts[c] + " of compact id " + c + " is negative";
            }
            if (c > 0 && (counts[c] > counts[c - 1] || counts[c] == counts[c - 1] && id < kept[c - 1])) {
                return "compact id " + c + " (original " + id + ", count " + counts[c] + ") is out of order after original "
                        + kept[c - 1] + " (count " + counts[c - 1] + "): expected descending count, then ascending id";
            }
        }
        return null;
    }

    /** @return the number of kept ids */
    public int keep() {
        return kept.length;
    }

    /** @return the compact id every dropped original id maps to ({@code keep()}) */
    public int unknownId() {
        return kept.length;
    }

    /** @return the compact vocabulary size, {@code keep() + 1} */
    public int vocabularySize() {
        return kept.length + 1;
    }

    /** @return the original vocabulary size */
    public int originalVocabularySize() {
        return originalVocabularySize;
    }

    /**
     * @param originalId an original id
     * @return its compact id ({@link #unknownId()} when dropped)
     * @throws IllegalArgumentException when the id is outside the original vocabulary
     */
    public int compact(int originalId) {
        if (originalId < 0 || originalId >= originalVocabularySize) {
            throw new IllegalArgumentException("original token id " + originalId + " is outside the vocabulary [0, "
                    + originalVocabularySize + ")");
        }
        return toCompact[originalId];
    }

    /**
     * @param compactId a compact id in {@code [0, vocabularySize())}
     * @return its original id, or -1 for the unknown id
     * @throws IllegalArgumentException when the id is out of range
     */
    public int original(int compactId) {
        if (compactId < 0 || compactId > kept.length) {
            throw new IllegalArgumentException("compact token id " + compactId + " is outside [0, " + vocabularySize() + ")");
        }
        return compactId == kept.length ? -1 : kept[compactId];
    }

    /**
     * @param compactId a compact id
     * @return how many tokens of the fitting corpus it stood for
     */
    public long count(int compactId) {
        original(compactId);
        return compactId == kept.length ? unknownCount : keptCounts[compactId];
    }

    /**
     * @param originalIds original ids
     * @return their compact ids
     * @throws IllegalArgumentException when an id is outside the original vocabulary, naming its position
     */
    public int[] compact(int[] originalIds) {
        int[] out = new int[originalIds.length];
        for (int i = 0; i < out.length; i++) {
            int id = originalIds[i];
            if (id < 0 || id >= originalVocabularySize) {
                throw new IllegalArgumentException("original token id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + originalVocabularySize + ")");
            }
            out[i] = toCompact[id];
        }
        return out;
    }

    /**
     * Compacts a corpus into memory.
     *
     * @param corpus a corpus over the original vocabulary
     * @return the same documents in compact ids
     * @throws IllegalArgumentException when the corpus's vocabulary size differs from the original one
     */
    public InMemoryTokenCorpus compact(TokenCorpus corpus) {
        checkVocabulary(corpus);
        int[][] docs = new int[corpus.documentCount()][];
        for (int d = 0; d < docs.length; d++) {
            docs[d] = compactDocument(corpus.tokens(d));
        }
        return new InMemoryTokenCorpus(docs, vocabularySize());
    }

    /**
     * Compacts a corpus into a token-id file, one document at a time.
     *
     * @param corpus a corpus over the original vocabulary
     * @param target the token-id file to write
     * @throws IllegalArgumentException when the corpus's vocabulary size differs from the original one
     * @throws IOException when writing fails
     */
    public void compactTo(TokenCorpus corpus, Path target) throws IOException {
        checkVocabulary(corpus);
        TokenIdFile.Origin from = corpus instanceof TokenIdFile f ? f.origin() : null;
        TokenIdFile.Origin origin = from == null ? null : from.compactedBy(toBytes());
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(target, vocabularySize(), origin)) {
            for (int d = 0; d < corpus.documentCount(); d++) {
                w.append(compactDocument(corpus.tokens(d)));
            }
            w.complete();
        }
    }

    private int[] compactDocument(IntBuffer b) {
        int[] out = new int[b.remaining()];
        for (int i = 0; i < out.length; i++) {
            out[i] = toCompact[b.get(b.position() + i)];
        }
        return out;
    }

    private void checkVocabulary(TokenCorpus corpus) {
        if (corpus.vocabularySize() != originalVocabularySize) {
            throw new IllegalArgumentException("corpus vocabulary size " + corpus.vocabularySize()
                    + " differs from the compaction's original vocabulary size " + originalVocabularySize);
        }
    }

    /**
     * Writes this compaction to a file (atomically).
     *
     * @param target the file
     * @throws IOException when writing fails
     */
    public void save(Path target) throws IOException {
        byte[] bytes = toBytes();
        AtomicFiles.write(target, tmp -> Files.write(tmp, bytes));
    }

    /** @return the content of this compaction's file, exactly as {@link #save} writes it */
    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + kept.length * ENTRY_BYTES + Integer.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(FORMAT_VERSION).putInt(originalVocabularySize).putInt(kept.length).putInt(0)
                .putLong(unknownCount);
        for (int c = 0; c < kept.length; c++) {
            b.putInt(kept[c]).putLong(keptCounts[c]);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    /**
     * Reads a compaction file, checking magic, version, size, checksum and contents.
     *
     * @param path the file
     * @return the compaction
     * @throws SconeFormatException when the file is not a valid compaction file
     * @throws IOException when it cannot be read
     */
    public static TokenCompaction load(Path path) throws IOException {
        return read(Files.readAllBytes(path), path);
    }

    /**
     * Reads a compaction file's bytes (for instance carried inside another file), checking them as
     * {@link #load} does.
     *
     * @param bytes the file's bytes
     * @param source the file to name in messages
     * @return the compaction
     * @throws SconeFormatException when the bytes are not a valid compaction file
     */
    public static TokenCompaction read(byte[] bytes, Path source) throws SconeFormatException {
        Path path = source;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < MAGIC.length || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new SconeFormatException(path, bytes.length < MAGIC.length
                    ? "truncated: " + bytes.length + " bytes, shorter than the header"
                    : "not a token compaction file: wrong magic number");
        }
        if (bytes.length < HEADER_BYTES + Integer.BYTES) {
            throw new SconeFormatException(path, "truncated: " + bytes.length + " bytes, shorter than the header");
        }
        int version = b.getInt(8);
        if (version != FORMAT_VERSION) {
            throw new SconeFormatException(path, "unsupported format version " + version
                    + " (this reader reads version " + FORMAT_VERSION + ")");
        }
        int v = b.getInt(12);
        int keep = b.getInt(16);
        int flags = b.getInt(20);
        long unknown = b.getLong(24);
        if (keep < 1 || keep > (Integer.MAX_VALUE - HEADER_BYTES - Integer.BYTES) / ENTRY_BYTES) {
            throw new SconeFormatException(path, "impossible keep " + keep);
        }
        long expected = HEADER_BYTES + (long) keep * ENTRY_BYTES + Integer.BYTES;
        if (bytes.length != expected) {
            throw new SconeFormatException(path, (bytes.length < expected ? "truncated: " : "trailing bytes: ")
                    + bytes.length + " bytes, the header describes " + expected);
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - Integer.BYTES);
        if ((int) crc.getValue() != b.getInt(bytes.length - Integer.BYTES)) {
            throw new SconeFormatException(path, "checksum mismatch (damaged file)");
        }
        if (flags != 0) {
            throw new SconeFormatException(path, "unknown flags " + flags);
        }
        int[] kept = new int[keep];
        long[] counts = new long[keep];
        for (int c = 0; c < keep; c++) {
            kept[c] = b.getInt(HEADER_BYTES + c * ENTRY_BYTES);
            counts[c] = b.getLong(HEADER_BYTES + c * ENTRY_BYTES + Integer.BYTES);
        }
        String problem = check(v, kept, counts, unknown);
        if (problem != null) {
            throw new SconeFormatException(path, problem);
        }
        return new TokenCompaction(v, kept, counts, unknown);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenCompaction t && t.originalVocabularySize == originalVocabularySize
                && t.unknownCount == unknownCount && Arrays.equals(t.kept, kept) && Arrays.equals(t.keptCounts, keptCounts);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(kept) + Long.hashCode(unknownCount);
    }

    @Override
    public String toString() {
        return "TokenCompaction[" + originalVocabularySize + " -> " + kept.length + " + unknown]";
    }
}
