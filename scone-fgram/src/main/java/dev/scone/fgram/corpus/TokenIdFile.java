package dev.scone.fgram.corpus;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.PartialFile;
import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A tokenized corpus stored in one file and read by memory-mapping: documents kept apart, token
 * ids as int32. Open one with {@link #open}, write one with {@link #newWriter} (streaming),
 * {@link #write} or {@link #writeSubset}.
 *
 * <p>Format version 2, all numbers little-endian:
 * <pre>
 * offset  size  field
 *      0     8  magic "SCTOKIDS" (ASCII)
 *      8     4  format version (2; 1 is read too)
 *     12     4  vocabularySize V (&gt;= 1)
 *     16     4  document count D (&gt;= 1)
 *     20     4  flags: bit 0 = the origin below is recorded, bit 1 = the ids are compacted
 *     24     8  token count N
 *     32     4  CRC32C of the token section
 *     36     4  CRC32C of the offset section
 *     40     8  origin: the tokenizer's fingerprint ({@link Origin})
 *     48    12  origin: the compaction's fingerprint (zero when the ids are not compacted)
 *     60     4  CRC32C of bytes 0..59
 *     64  4*N   token section: every document's ids, int32, in document order
 * 64+4N 8*(D+1) offset section: int64 start of each document in tokens, then N
 * </pre>
 * Opening checks the magic, version, header checksum, sizes (a truncated file is refused), the
 * offsets and the checksum of every token; any failure is a {@link SconeFormatException} naming
 * the file and the problem. A version-1 file (bytes 40..59 zero, flags 0) has no recorded
 * {@link #origin()}. Verifying the checksums reads the whole file once: about 2 ms for a
 * corpus of 2M tokens (8 MB, page cache warm), so it is always done.
 *
 * <p>An open file is safe to read from several threads. {@link #close()} refuses later use; the
 * mapping itself is released when the garbage collector drops it (Java 17 cannot unmap), so a
 * view taken before close stays readable.
 */
public final class TokenIdFile implements TokenCorpus, AutoCloseable {

    /** The current format version. */
    public static final int FORMAT_VERSION = 2;

    /** The earlier version, still read: no origin. */
    static final int FORMAT_VERSION_1 = 1;

    static final int FLAG_ORIGIN = 1;
    static final int FLAG_COMPACTED = 2;

    /**
     * What produced a file's ids: the tokenizer, and the compaction that mapped its ids (if any),
     * each as a fingerprint of its file (the leading bytes of its SHA-256, in hex). Readers compare
     * them to refuse token ids of another tokenizer or compaction than a model's.
     *
     * @param tokenizer 16 hex digits: the tokenizer file's fingerprint ({@link #fingerprint(byte[], int)})
     * @param compaction 24 hex digits: the compaction file's fingerprint, or null for ids as the tokenizer gives them
     */
    public record Origin(String tokenizer, String compaction) {

        /** Checks the digits. */
        public Origin {
            Objects.requireNonNull(tokenizer, "tokenizer");
            if (!tokenizer.matches("[0-9a-f]{16}") || (compaction != null && !compaction.matches("[0-9a-f]{24}"))) {
                throw new IllegalArgumentException("an origin is 16 and 24 hex digits: " + tokenizer + ", "
                        + compaction);
            }
        }

        /**
         * @param tokenizerFile the tokenizer's file (a Hugging Face tokenizer.json)
         * @return the origin of ids straight from that tokenizer: the leading 16 digits of its
         *     {@link HuggingFaceTokenizerJson#fingerprint() fingerprint}, which covers what decides
         *     the ids and not the file's layout
         * @throws IOException when it cannot be read or is no tokenizer.json
         */
        public static Origin ofTokenizer(Path tokenizerFile) throws IOException {
            return new Origin(HuggingFaceTokenizerJson.describe(tokenizerFile).fingerprint().substring(0, 16), null);
        }

        /**
         * @param compactionFile the bytes of the compaction file that maps these ids
         * @return this origin, compacted by it
         */
        public Origin compactedBy(byte[] compactionFile) {
            return new Origin(tokenizer, fingerprint(compactionFile, 12));
        }

        /** @return the compaction's fingerprint, or {@code "none"} */
        public String compactionOrNone() {
            return compaction == null ? "none" : compaction;
        }
    }

    /**
     * @param fileBytes a file's content
     * @param bytes how many leading bytes of its SHA-256 to keep
     * @return them in hex
     */
    public static String fingerprint(byte[] fileBytes, int bytes) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(fileBytes);
            return java.util.HexFormat.of().formatHex(d, 0, bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /** The file's first 8 bytes (do not modify). */
    public static final byte[] MAGIC = "SCTOKIDS".getBytes(StandardCharsets.US_ASCII);

    /** Header size in bytes. */
    static final int HEADER_BYTES = 64;

    /** Offset of the header checksum. */
    static final int HEADER_CRC_AT = 60;

    /** The longest document a read-only int view can hold. */
    static final int MAX_DOCUMENT_TOKENS = Integer.MAX_VALUE / Integer.BYTES;

    /** The most documents one file holds (their offsets are read into one array). */
    static final int MAX_DOCUMENTS = Integer.MAX_VALUE / Long.BYTES - 1;

    /** Documents are mapped in segments of about this many bytes (a mapping holds at most 2 GiB). */
    static final long SEGMENT_BYTES = 1L << 30;

    private final Path path;
    private final int vocabularySize;
    private final Origin origin; // null: not recorded (version 1, or written without one)
    private final int tokensCrc;
    private final long tokenCount;
    private final long[] offsets; // (D + 1) token index where each document starts
    private final IntBuffer[] segments; // read-only views over the token section
    private final long[] segmentStart; // token index of each segment's first token
    private final int[] documentSegment; // (D) segment holding each document
    private volatile boolean closed;

    private TokenIdFile(Path path, int vocabularySize, Origin origin, int tokensCrc, long tokenCount, long[] offsets,
            IntBuffer[] segments, long[] segmentStart, int[] documentSegment) {
        this.path = path;
        this.vocabularySize = vocabularySize;
        this.origin = origin;
        this.tokensCrc = tokensCrc;
        this.tokenCount = tokenCount;
        this.offsets = offsets;
        this.segments = segments;
        this.segmentStart = segmentStart;
        this.documentSegment = documentSegment;
    }

    /**
     * Opens a token-id file, verifying its structure and checksums.
     *
     * @param path the file
     * @return the open corpus; close it
     * @throws SconeFormatException when the file is not a valid token-id file
     * @throws IOException when it cannot be read
     */
    public static TokenIdFile open(Path path) throws IOException {
        return open(path, SEGMENT_BYTES);
    }

    /** Opens with mappings of about {@code segmentBytes} each (small values let tests cross segments). */
    static TokenIdFile open(Path path, long segmentBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, h, 0);
            h.flip();
            Header header = Header.parse(h, size, path); // also checks the file's exact size
            int documentCount = header.documentCount();
            long tokenCount = header.tokenCount();
            CRC32C crc = new CRC32C();

            ByteBuffer ob = ByteBuffer.allocate((documentCount + 1) * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, ob, header.offsetsAt());
            ob.flip();
            crc.update(ob.duplicate());
            if ((int) crc.getValue() != header.offsetsCrc()) {
                throw new SconeFormatException(path, "offset section checksum mismatch (damaged document offsets)");
            }
            long[] offsets = new long[documentCount + 1];
            ob.asLongBuffer().get(offsets);
            if (offsets[0] != 0 || offsets[documentCount] != tokenCount) {
                throw new SconeFormatException(path, "document offsets run from " + offsets[0] + " to "
                        + offsets[documentCount] + ", expected 0 to " + tokenCount);
            }
            for (int d = 0; d < documentCount; d++) {
                long len = offsets[d + 1] - offsets[d];
                if (len < 0 || len > MAX_DOCUMENT_TOKENS) {
                    throw new SconeFormatException(path, "document " + d + " has impossible length " + len);
                }
            }

            // Segments of whole documents, each mapped read-only; the mappings outlive the channel.
            List<IntBuffer> segs = new ArrayList<>();
            List<Long> segStarts = new ArrayList<>();
            int[] docSeg = new int[documentCount];
            crc.reset();
            byte[] copy = new byte[1 << 16];
            int d = 0;
            while (d < documentCount) {
                int first = d;
                long from = offsets[first];
                while (d < documentCount && (d == first
                        || (offsets[d + 1] - from) * Integer.BYTES <= segmentBytes)) {
                    docSeg[d] = segs.size();
                    d++;
                }
                long bytes = (offsets[d] - from) * Integer.BYTES;
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES + from * Integer.BYTES, bytes);
                updateFromMapping(crc, m, copy, path);
                segs.add(m.order(ByteOrder.LITTLE_ENDIAN).asIntBuffer());
                segStarts.add(from);
            }
            if ((int) crc.getValue() != header.tokensCrc()) {
                throw new SconeFormatException(path, "token section checksum mismatch (damaged token ids)");
            }
            long[] segStart = segStarts.stream().mapToLong(Long::longValue).toArray();
            return new TokenIdFile(path, header.vocabularySize(), header.origin(), header.tokensCrc(), tokenCount,
                    offsets, segs.toArray(IntBuffer[]::new), segStart, docSeg);
        }
    }

    /**
     * The fixed 64-byte header of a token-id file, checked: what a reader that cannot map the file
     * (one on a distributed file system, say) needs to find the token and offset sections and to
     * verify their checksums itself.
     *
     * @param vocabularySize V: every id is in {@code [0, V)}
     * @param documentCount D, at least 1
     * @param tokenCount N
     * @param tokensCrc CRC32C of the token section (N little-endian int32)
     * @param offsetsCrc CRC32C of the offset section (D + 1 little-endian int64)
     * @param origin where the ids come from, or null when not recorded
     */
    public record Header(int vocabularySize, int documentCount, long tokenCount, int tokensCrc, int offsetsCrc,
            Origin origin) {

        /** The header's size in bytes: the token section starts here. */
        public static final int BYTES = HEADER_BYTES;

        /** @return the byte position of the offset section */
        public long offsetsAt() {
            return HEADER_BYTES + tokenCount * Integer.BYTES;
        }

        /** @return the exact size of a file with this header */
        public long fileLength() {
            return offsetsAt() + (documentCount + 1L) * Long.BYTES;
        }

        /**
         * Parses and checks a header: magic, version, header checksum, plausible values, and that
         * the file has exactly the size the header describes.
         *
         * @param header the file's first bytes (from position 0 to the limit; {@link #BYTES} or
         *     fewer when the file is shorter)
         * @param fileSize the file's size in bytes
         * @param file the file, named in errors
         * @return the header
         * @throws SconeFormatException naming the file and the problem
         */
        public static Header parse(ByteBuffer header, long fileSize, Path file) throws SconeFormatException {
            ByteBuffer h = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (h.remaining() < MAGIC.length) {
                throw new SconeFormatException(file, "truncated: " + fileSize + " bytes, shorter than the "
                        + HEADER_BYTES + "-byte header");
            }
            byte[] magic = new byte[MAGIC.length];
            h.get(h.position(), magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new SconeFormatException(file, "not a token-id file: magic is " + printable(magic)
                        + ", expected " + printable(MAGIC));
            }
            if (h.remaining() < HEADER_BYTES) {
                throw new SconeFormatException(file, "truncated: " + fileSize + " bytes, shorter than the "
                        + HEADER_BYTES + "-byte header");
            }
            int p = h.position();
            int version = h.getInt(p + 8);
            if (version != FORMAT_VERSION && version != FORMAT_VERSION_1) {
                throw new SconeFormatException(file, "unsupported format version " + version
                        + " (this reader reads versions " + FORMAT_VERSION_1 + " and " + FORMAT_VERSION + ")");
            }
            CRC32C crc = new CRC32C();
            crc.update(h.duplicate().limit(p + HEADER_CRC_AT));
            if ((int) crc.getValue() != h.getInt(p + HEADER_CRC_AT)) {
                throw new SconeFormatException(file, "header checksum mismatch (damaged header)");
            }
            int vocabularySize = h.getInt(p + 12);
            int documentCount = h.getInt(p + 16);
            int flags = h.getInt(p + 20);
            long tokenCount = h.getLong(p + 24);
            if (vocabularySize < 1 || documentCount < 1 || documentCount > MAX_DOCUMENTS || !validFlags(version, flags)
                    || tokenCount < 0 || tokenCount > (Long.MAX_VALUE - HEADER_BYTES) / 8) {
                throw new SconeFormatException(file, "impossible header: vocabularySize " + vocabularySize
                        + ", documents " + documentCount + ", flags " + flags + ", tokens " + tokenCount);
            }
            Header parsed = new Header(vocabularySize, documentCount, tokenCount, h.getInt(p + 32), h.getInt(p + 36),
                    originOf(h, p, flags));
            long expected = parsed.fileLength();
            if (fileSize < expected) {
                throw new SconeFormatException(file, "truncated: " + fileSize + " bytes, the header describes "
                        + expected + " (" + documentCount + " documents, " + tokenCount + " tokens)");
            }
            if (fileSize > expected) {
                throw new SconeFormatException(file, fileSize + " bytes, but the header describes " + expected
                        + ": " + (fileSize - expected) + " trailing bytes");
            }
            return parsed;
        }
    }

    /**
     * @return the tokenizer and compaction that produced the ids, or null when the file does not
     *     record them (format version 1, or written without)
     */
    public Origin origin() {
        return origin;
    }

    /** @return the CRC32C of the token section, as the header records it (identifies the content) */
    public int tokensCrc() {
        return tokensCrc;
    }

    /** @return the file this corpus was read from */
    public Path path() {
        return path;
    }

    @Override
    public int documentCount() {
        return offsets.length - 1;
    }

    @Override
    public long tokenCount() {
        return tokenCount;
    }

    @Override
    public int vocabularySize() {
        return vocabularySize;
    }

    @Override
    public int documentLength(int doc) {
        Objects.checkIndex(doc, documentCount());
        return (int) (offsets[doc + 1] - offsets[doc]);
    }

    /**
     * @param doc document index
     * @return the index, over the whole corpus, of the document's first token
     */
    public long documentStart(int doc) {
        Objects.checkIndex(doc, documentCount());
        return offsets[doc];
    }

    @Override
    public IntBuffer tokens(int doc) {
        ensureOpen();
        Objects.checkIndex(doc, documentCount());
        int seg = documentSegment[doc];
        int from = (int) (offsets[doc] - segmentStart[seg]);
        int to = (int) (offsets[doc + 1] - segmentStart[seg]);
        return segments[seg].duplicate().position(from).limit(to).slice();
    }

    @Override
    public int[] document(int doc) {
        IntBuffer b = tokens(doc);
        int[] out = new int[b.remaining()];
        b.get(out);
        return out;
    }

    /** Refuses later use; the mapping goes when the garbage collector drops it. */
    @Override
    public void close() {
        closed = true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(path + " is closed");
        }
    }

    @Override
    public String toString() {
        return "TokenIdFile[" + path + ", " + documentCount() + " documents, " + tokenCount + " tokens, V="
                + vocabularySize + "]";
    }

    /**
     * Starts writing a token-id file document by document. Nothing appears at {@code target}
     * until {@link Writer#complete()}; a writer closed without completing leaves no file.
     *
     * @param target the file to write
     * @param vocabularySize every id must be in {@code [0, vocabularySize)}
     * @return the writer; close it
     * @throws IOException when the temporary file cannot be created
     */
    public static Writer newWriter(Path target, int vocabularySize) throws IOException {
        return new Writer(target, vocabularySize, null);
    }

    /**
     * Starts writing a token-id file that records where its ids come from.
     *
     * @param target the file to write
     * @param vocabularySize every id must be in {@code [0, vocabularySize)}
     * @param origin the tokenizer and compaction behind the ids, or null when unknown
     * @return the writer; close it
     * @throws IOException when the temporary file cannot be created
     */
    public static Writer newWriter(Path target, int vocabularySize, Origin origin) throws IOException {
        return new Writer(target, vocabularySize, origin);
    }

    /**
     * Writes a whole corpus.
     *
     * @param target the file
     * @param corpus the corpus (at least one document)
     * @throws IOException when writing fails
     */
    public static void write(Path target, TokenCorpus corpus) throws IOException {
        int[] all = new int[corpus.documentCount()];
        Arrays.setAll(all, i -> i);
        writeSubset(target, corpus, all);
    }

    /**
     * Writes some documents of a corpus, in the order given (e.g. a training or held-out split),
     * with the corpus's vocabulary size.
     *
     * @param target the file
     * @param corpus the source
     * @param documents indices into {@code corpus}, at least one
     * @throws IllegalArgumentException when an index is out of range, naming it
     * @throws IOException when writing fails
     */
    public static void writeSubset(Path target, TokenCorpus corpus, int[] documents) throws IOException {
        Objects.requireNonNull(corpus, "corpus");
        Objects.requireNonNull(documents, "documents");
        for (int i = 0; i < documents.length; i++) {
            if (documents[i] < 0 || documents[i] >= corpus.documentCount()) {
                throw new IllegalArgumentException("document index " + documents[i] + " (entry " + i
                        + ") is outside the corpus's [0, " + corpus.documentCount() + ")");
            }
        }
        Origin origin = corpus instanceof TokenIdFile f ? f.origin() : null;
        try (Writer w = newWriter(target, corpus.vocabularySize(), origin)) {
            for (int doc : documents) {
                w.append(corpus.tokens(doc));
            }
            w.complete();
        }
    }

    /**
     * Writes a token-id file one document at a time, streaming the ids to a temporary file beside
     * the target; {@link #complete()} renames it into place (through {@link AtomicFiles}).
     * Every id is checked before its document is written. Not thread-safe.
     */
    public static final class Writer implements AutoCloseable {

        private static final int BUFFER_BYTES = 1 << 20;

        private final int vocabularySize;
        private final Origin origin;
        private final PartialFile file;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private final CRC32C tokensCrc = new CRC32C();
        private long[] offsets = new long[1024];
        private int documentCount;
        private long tokenCount;
        private long position = HEADER_BYTES;

        private Writer(Path target, int vocabularySize, Origin origin) throws IOException {
            this.origin = origin;
            Objects.requireNonNull(target, "target");
            if (vocabularySize < 1) {
                throw new IllegalArgumentException("vocabularySize must be >= 1, got " + vocabularySize);
            }
            this.vocabularySize = vocabularySize;
            this.file = PartialFile.create(target);
        }

        /**
         * Appends one document.
         *
         * @param ids its token ids (may be empty)
         * @throws IllegalArgumentException when an id is out of range, naming the document and
         *     position; nothing of the document is written then
         * @throws IOException when writing fails
         */
        public void append(int[] ids) throws IOException {
            append(IntBuffer.wrap(Objects.requireNonNull(ids, "ids")));
        }

        /**
         * Appends one document: the ids from the buffer's position to its limit (the buffer's
         * position is left unchanged).
         *
         * @param ids its token ids
         * @throws IllegalArgumentException when an id is out of range, naming the document and
         *     position; nothing of the document is written then
         * @throws IOException when writing fails
         */
        public void append(IntBuffer ids) throws IOException {
            Objects.requireNonNull(ids, "ids");
            ensureWritable();
            if (documentCount == MAX_DOCUMENTS) {
                throw new IllegalStateException("a token-id file holds at most " + MAX_DOCUMENTS + " documents");
            }
            int from = ids.position();
            int n = ids.remaining();
            for (int i = 0; i < n; i++) {
                int id = ids.get(from + i);
                if (id < 0 || id >= vocabularySize) {
                    throw new IllegalArgumentException("document " + documentCount + ", position " + i + ": token id "
                            + id + " is outside the vocabulary [0, " + vocabularySize + ")");
                }
            }
            if (n > MAX_DOCUMENT_TOKENS) {
                throw new IllegalArgumentException("document " + documentCount + " has " + n
                        + " tokens, more than the " + MAX_DOCUMENT_TOKENS + " a document may hold");
            }
            for (int i = 0; i < n; i++) {
                if (buffer.remaining() < Integer.BYTES) {
                    flush();
                }
                buffer.putInt(ids.get(from + i));
            }
            tokenCount += n;
            documentCount++;
            if (documentCount + 1 > offsets.length) {
                offsets = Arrays.copyOf(offsets, offsets.length * 2);
            }
            offsets[documentCount] = tokenCount;
        }

        /** @return documents appended so far */
        public int documentCount() {
            return documentCount;
        }

        /** @return tokens appended so far */
        public long tokenCount() {
            return tokenCount;
        }

        /**
         * Finishes the file and renames it into place.
         *
         * @throws IllegalStateException when no document was appended, or the writer is finished
         * @throws IOException when writing fails (no file is left then)
         */
        public void complete() throws IOException {
            ensureWritable();
            if (documentCount == 0) {
                throw new IllegalStateException("no documents were appended to " + file.target()
                        + ": a token-id file holds at least one document");
            }
            try {
                flush();
                ByteBuffer ob = ByteBuffer.allocate((documentCount + 1) * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                ob.asLongBuffer().put(offsets, 0, documentCount + 1);
                CRC32C crc = new CRC32C();
                crc.update(ob.duplicate());
                int offsetsCrc = (int) crc.getValue();
                file.write(ob, position);
                file.write(header(vocabularySize, documentCount, tokenCount, (int) tokensCrc.getValue(), offsetsCrc,
                        origin), 0);
                file.publish();
            } finally {
                file.close(); // nothing once published
            }
        }

        /** Abandons the file unless {@link #complete()} succeeded: nothing is left at the target. */
        @Override
        public void close() throws IOException {
            file.close();
        }

        private void flush() throws IOException {
            buffer.flip();
            tokensCrc.update(buffer.duplicate());
            int n = buffer.remaining();
            file.write(buffer, position);
            position += n;
            buffer.clear();
        }

        private void ensureWritable() {
            if (file.isDone()) {
                throw new IllegalStateException("writer for " + file.target() + " is already completed or closed");
            }
        }
    }

    private static boolean validFlags(int version, int flags) {
        return version == FORMAT_VERSION_1 ? flags == 0
                : (flags & ~(FLAG_ORIGIN | FLAG_COMPACTED)) == 0 && (flags & FLAG_ORIGIN) != 0 || flags == 0;
    }

    /** The origin recorded at bytes 40..59 of a header starting at {@code p}, or null. */
    private static Origin originOf(ByteBuffer h, int p, int flags) {
        if ((flags & FLAG_ORIGIN) == 0) {
            return null;
        }
        byte[] t = new byte[8];
        byte[] c = new byte[12];
        h.get(p + 40, t);
        h.get(p + 48, c);
        java.util.HexFormat hex = java.util.HexFormat.of();
        return new Origin(hex.formatHex(t), (flags & FLAG_COMPACTED) != 0 ? hex.formatHex(c) : null);
    }

    /** Builds a current header with no origin (package-private so tests can forge files). */
    static ByteBuffer header(int vocabularySize, int documentCount, long tokenCount, int tokensCrc, int offsetsCrc) {
        return header(vocabularySize, documentCount, tokenCount, tokensCrc, offsetsCrc, null);
    }

    /** Builds a current header, with the origin when it is not null. */
    static ByteBuffer header(int vocabularySize, int documentCount, long tokenCount, int tokensCrc, int offsetsCrc,
            Origin origin) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.put(MAGIC);
        h.putInt(FORMAT_VERSION);
        h.putInt(vocabularySize);
        h.putInt(documentCount);
        h.putInt(origin == null ? 0 : FLAG_ORIGIN | (origin.compaction() != null ? FLAG_COMPACTED : 0));
        h.putLong(tokenCount);
        h.putInt(tokensCrc);
        h.putInt(offsetsCrc);
        if (origin != null) {
            java.util.HexFormat hex = java.util.HexFormat.of();
            h.put(40, hex.parseHex(origin.tokenizer()));
            if (origin.compaction() != null) {
                h.put(48, hex.parseHex(origin.compaction()));
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, HEADER_CRC_AT);
        h.putInt(HEADER_CRC_AT, (int) crc.getValue());
        h.position(0).limit(HEADER_BYTES);
        return h;
    }

    /**
     * Feeds a mapping to the checksum through a heap buffer: a page that is gone from the file
     * (cut while being opened) is an exception naming the file, where checksumming the mapping in
     * place would kill the JVM with SIGBUS.
     */
    private static void updateFromMapping(CRC32C crc, ByteBuffer mapping, byte[] buf, Path path)
            throws SconeFormatException {
        ByteBuffer d = mapping.duplicate();
        try {
            while (d.hasRemaining()) {
                int n = Math.min(buf.length, d.remaining());
                d.get(buf, 0, n);
                crc.update(buf, 0, n);
            }
        } catch (InternalError e) {
            throw new SconeFormatException(path, "could not be read while being opened (cut or unreadable): "
                    + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long p = at;
        while (b.hasRemaining()) {
            int n = ch.read(b, p);
            if (n < 0) {
                return;
            }
            p += n;
        }
    }

    private static String printable(byte[] b) {
        StringBuilder sb = new StringBuilder("\"");
        for (byte x : b) {
            sb.append(x >= 0x20 && x < 0x7f ? String.valueOf((char) x) : String.format("\\x%02x", x & 0xff));
        }
        return sb.append('"').toString();
    }
}
