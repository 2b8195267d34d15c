package dev.scone.fgram.vocab;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.PartialFile;
import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Reads and writes an {@link FgramVocabulary} as a file (format version 3; versions 1 and 2 are
 * read too), whole onto the heap ({@link #read}), memory-mapped ({@link #open}) or a range of ids
 * at a time ({@link #readRange}).
 *
 * <p>Layout of version 3, little-endian:
 *
 * <pre>
 *   offset  size  field
 *   0       8     magic "SCONEFGV"
 *   8       4     format version (3)
 *   12      4     token vocabulary size
 *   16      4     maxN (K)
 *   20      4     S, the number of f-grams (up to 2^31 - 1)
 *   24      8     total file length in bytes
 *   32      40    the corpus it was counted on ({@link CountedOn}): flags (bit 0 recorded, bit 1
 *                 compacted, bit 2 origin recorded), the ids' tokenizer (8) and compaction (12)
 *                 fingerprints, its documents (4), tokens (8) and token-section CRC32C (4); zero
 *                 when not recorded
 *   72      4     blockBits: the f-grams are stored in blocks of B = 2^blockBits consecutive ids
 *   76      4     zero
 *   80      8     T, the tokens of all f-grams together
 *   88      36    zero
 *   124     4     CRC32C of bytes 0..123
 *   128     ...   the blocks, in id order, each as {@link BlockLayout} describes: B counts (int64),
 *                 B ends (int32: the block's tokens up to and including each f-gram), the tokens
 *                 (int32), zero padding to a multiple of 8 bytes; the last block holds S mod B
 *                 f-grams (B when that is 0)
 *   ...     8/block  the block index: per block its tokens (int32) and the CRC32C of its bytes (int32)
 *   end-20  16    the vocabulary fingerprint ({@link FgramVocabulary#fingerprint()}, raw bytes)
 *   end-4   4     CRC32C of the block index and the fingerprint
 * </pre>
 *
 * A record costs {@code 12 + 4 n} bytes for an f-gram of n tokens, as in version 2, and offsets
 * inside the file are 64-bit: the size of a file has no limit but S's. Every byte is covered by a
 * checksum: the header's, a block's, or the index's. Version 2 (and version 1, without the
 * counted-on block) stored each f-gram as int length, int tokens and long count after a 72-byte
 * header, with one CRC32C over the whole file; there is no way to find a record of those files but
 * reading every one before it, so they are always read whole onto the heap.
 *
 * <p>Files are written atomically ({@link AtomicFiles}), as a stream ({@link #newWriter}), so
 * that writing needs no more memory than one block. Reading checks, in this order, the magic
 * number, the format version, the header's checksum, the length, the index's checksum, every
 * block's checksum and records, and (when the whole file is read) that the content's fingerprint
 * equals the stored one; any failure is a {@link SconeFormatException} naming the file and the
 * problem. A mapped file ({@link #open}) checks its header and index when it is opened and each
 * block when it is first read; {@link MappedFgramVocabulary#verify()} checks the whole file in one
 * streaming pass.
 */
public final class FgramVocabularyFile {

    /** The first 8 bytes of every f-gram vocabulary file: "SCONEFGV" in ASCII. */
    public static final long MAGIC = 0x564746454E4F4353L; // "SCONEFGV" read as a little-endian long
    /** The format version this class writes; it reads this one and versions 1 and 2. */
    public static final int VERSION = 3;
    static final int VERSION_1 = 1;
    static final int VERSION_2 = 2;
    /** Bytes of the fixed header fields of versions 1 and 2. */
    static final int HEADER_BYTES = 32;
    /** Bytes of the counted-on block (versions 2 and 3). */
    static final int COUNTED_ON_BYTES = 40;
    /** Bytes before the first record in version 2. */
    static final int RECORDS_AT_V2 = HEADER_BYTES + COUNTED_ON_BYTES;
    /** Bytes of the version-3 header: the first block starts here. */
    static final int HEADER_BYTES_V3 = 128;
    /** Where the version-3 header's checksum is. */
    static final int HEADER_CRC_AT = 124;
    /** Bytes after the last record (versions 1 and 2) or the block index (version 3): fingerprint and checksum. */
    static final int TRAILER_BYTES = 20;
    /** Bytes per block in the block index. */
    static final int INDEX_ENTRY_BYTES = 8;

    private static final int IO_BYTES = 1 << 20;

    /**
     * The token-id corpus a vocabulary was counted on: where its ids come from and which file it
     * was (its size and the checksum of its token section), so that a vocabulary is used only with
     * ids that mean what it counted.
     *
     * @param origin the tokenizer and compaction behind its ids, or null when its file did not record them
     * @param documents its documents
     * @param tokens its tokens
     * @param tokensCrc the CRC32C of its token section
     */
    public record CountedOn(TokenIdFile.Origin origin, int documents, long tokens, int tokensCrc) {

        /**
         * @param file a token-id file
         * @return what a vocabulary counted on it records
         */
        public static CountedOn of(TokenIdFile file) {
            return new CountedOn(file.origin(), file.documentCount(), file.tokenCount(), file.tokensCrc());
        }
    }

    /**
     * Everything a vocabulary file holds.
     *
     * @param vocabulary the vocabulary
     * @param countedOn the corpus it was counted on, or null when not recorded
     */
    public record Contents(FgramVocabulary vocabulary, CountedOn countedOn) {}

    private FgramVocabularyFile() {}

    // ---------------------------------------------------------------- writing

    /**
     * Writes {@code vocabulary} to {@code path} atomically, replacing any existing file.
     *
     * @param vocabulary the vocabulary (a whole one, not a range)
     * @param path the target file
     * @throws IOException when writing fails; the target is then unchanged
     */
    public static void write(FgramVocabulary vocabulary, Path path) throws IOException {
        write(vocabulary, path, null);
    }

    /**
     * Writes {@code vocabulary} to {@code path} atomically with the corpus it was counted on.
     *
     * @param vocabulary the vocabulary (a whole one, not a range)
     * @param path the target file
     * @param countedOn the corpus, or null when not known
     * @throws IOException when writing fails; the target is then unchanged
     */
    public static void write(FgramVocabulary vocabulary, Path path, CountedOn countedOn) throws IOException {
        write(vocabulary, path, countedOn, BlockLayout.DEFAULT_BLOCK_BITS);
    }

    /** Writes with blocks of 2^blockBits f-grams (tests and golden files use small blocks). */
    static void write(FgramVocabulary vocabulary, Path path, CountedOn countedOn, int blockBits) throws IOException {
        Objects.requireNonNull(vocabulary, "vocabulary");
        if (!vocabulary.isWhole()) {
            throw new IllegalArgumentException("cannot write a range of a vocabulary (" + vocabulary + ") as a file");
        }
        try (Writer w = new Writer(path, vocabulary.tokenVocabularySize(), vocabulary.maxN(), vocabulary.size(),
                countedOn, blockBits)) {
            FgramVocabulary.Cursor c = vocabulary.cursor();
            while (c.next()) {
                w.append(c.tokens(), 0, c.length(), c.count());
            }
            w.complete();
        }
    }

    /**
     * Starts writing a vocabulary file f-gram by f-gram, in id order, without holding the
     * vocabulary in memory: only the current block (up to 2^14 f-grams) and the block index
     * (8 bytes per block). Each f-gram is checked as it is appended; that no f-gram appears twice
     * is the caller's promise (a vocabulary counted by Algorithm 3 keeps it), checked by readers
     * that index the f-grams ({@link FgramVocabulary#find}, the matcher, {@link #read}).
     *
     * @param path the target file, replaced atomically by {@link Writer#complete()}
     * @param tokenVocabularySize size of the token vocabulary, at least 1
     * @param maxN K, at least 2
     * @param size S, the number of f-grams that will be appended
     * @param countedOn the corpus they were counted on, or null
     * @return the writer; close it (after {@link Writer#complete()}, or to abandon the file)
     * @throws IOException when the temporary file cannot be created
     */
    public static Writer newWriter(Path path, int tokenVocabularySize, int maxN, int size, CountedOn countedOn)
            throws IOException {
        return new Writer(path, tokenVocabularySize, maxN, size, countedOn, BlockLayout.DEFAULT_BLOCK_BITS);
    }

    /** @return the exact size in bytes of the file {@link #write} produces for {@code vocabulary} */
    public static long fileLength(FgramVocabulary vocabulary) {
        int bits = BlockLayout.DEFAULT_BLOCK_BITS;
        int size = vocabulary.size();
        int blocks = BlockLayout.blockCount(size, bits);
        long length = HEADER_BYTES_V3 + (long) INDEX_ENTRY_BYTES * blocks + TRAILER_BYTES;
        for (int b = 0; b < blocks; b++) {
            int first = b << bits;
            int n = BlockLayout.fgramsIn(size, bits, b);
            long tokens = 0;
            for (int i = 0; i < n; i++) {
                tokens += vocabulary.length(first + i);
            }
            length += BlockLayout.blockBytes(n, tokens);
        }
        return length;
    }

    /**
     * Writes a vocabulary file as a stream of f-grams ({@link #newWriter}). The file appears at its
     * path only when {@link #complete()} succeeds; closing the writer before abandons it.
     */
    public static final class Writer implements AutoCloseable {

        private final PartialFile file;
        private final int tokenVocabularySize;
        private final int maxN;
        private final int size;
        private final int blockBits;
        private final CountedOn countedOn;
        private final BlockEncoder encoder;
        private final FingerprintDigest digest;
        private final int[] blockTokens;
        private final int[] blockCrcs;
        private final CRC32C crc = new CRC32C();
        private ByteBuffer buffer = ByteBuffer.allocate(IO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        private long position = HEADER_BYTES_V3;
        private int appended;
        private long tokens;
        private int blocks;

        Writer(Path target, int tokenVocabularySize, int maxN, int size, CountedOn countedOn, int blockBits)
                throws IOException {
            Objects.requireNonNull(target, "path");
            if (size < 0) {
                throw new IllegalArgumentException("size must be >= 0, got " + size);
            }
            this.encoder = new BlockEncoder(tokenVocabularySize, maxN, blockBits); // checks V, K and the block shape
            this.tokenVocabularySize = tokenVocabularySize;
            this.maxN = maxN;
            this.size = size;
            this.blockBits = blockBits;
            this.countedOn = countedOn;
            this.digest = new FingerprintDigest(tokenVocabularySize, maxN, size);
            int blockCount = BlockLayout.blockCount(size, blockBits);
            if ((long) INDEX_ENTRY_BYTES * blockCount > Integer.MAX_VALUE - 64) {
                throw new IllegalArgumentException(size + " f-grams in blocks of 2^" + blockBits
                        + " need a block index larger than one buffer");
            }
            this.blockTokens = new int[blockCount];
            this.blockCrcs = new int[blockCount];
            this.file = PartialFile.create(target);
        }

        /**
         * Appends the next f-gram.
         *
         * @param seq array holding its tokens
         * @param from where they start
         * @param len its length, 2..K
         * @param count its count, at least 0
         * @throws IllegalArgumentException when the f-gram is invalid, naming it; nothing is written then
         * @throws IllegalStateException when all S f-grams were appended, or the writer is finished
         * @throws IOException when writing fails
         */
        public void append(int[] seq, int from, int len, long count) throws IOException {
            ensureWritable();
            if (appended == size) {
                throw new IllegalStateException("all " + size + " f-grams of " + file.target()
                        + " were already appended");
            }
            encoder.add(appended, seq, from, len, count);
            digest.add(seq, from, len, count);
            appended++;
            tokens += len;
            if (encoder.isFull() || appended == size) {
                flushBlock();
            }
        }

        /**
         * Appends the next f-gram.
         *
         * @param fgram its tokens
         * @param count its count
         * @throws IOException when writing fails
         */
        public void append(int[] fgram, long count) throws IOException {
            append(Objects.requireNonNull(fgram, "fgram"), 0, fgram.length, count);
        }

        /** @return f-grams appended so far */
        public int appended() {
            return appended;
        }

        /**
         * Finishes the file and renames it into place.
         *
         * @return the vocabulary's fingerprint
         * @throws IllegalStateException when fewer than S f-grams were appended, or the writer is finished
         * @throws IOException when writing fails (no file is left then)
         */
        public String complete() throws IOException {
            ensureWritable();
            if (appended != size) {
                throw new IllegalStateException(appended + " of the " + size + " f-grams of " + file.target()
                        + " were appended");
            }
            try {
                drain();
                String fingerprint = digest.finish();
                ByteBuffer index = indexAndTrailer(blockTokens, blockCrcs, blocks, fingerprint);
                long length = position + index.remaining();
                file.write(index, position);
                file.write(headerV3(tokenVocabularySize, maxN, size, length, countedOn, blockBits, tokens), 0);
                file.publish();
                return fingerprint;
            } finally {
                file.close(); // nothing once published
            }
        }

        /** Abandons the file unless {@link #complete()} succeeded: nothing is left at the target. */
        @Override
        public void close() throws IOException {
            file.close();
        }

        private void flushBlock() throws IOException {
            int bytes = encoder.bytes();
            if (buffer.remaining() < bytes) {
                drain();
                if (buffer.capacity() < bytes) {
                    buffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
                }
            }
            int start = buffer.position();
            blockTokens[blocks] = encoder.tokens();
            encoder.encodeTo(buffer);
            crc.reset();
            crc.update(buffer.array(), start, bytes);
            blockCrcs[blocks] = (int) crc.getValue();
            blocks++;
        }

        private void drain() throws IOException {
            buffer.flip();
            int n = buffer.remaining();
            file.write(buffer, position);
            position += n;
            buffer.clear();
        }

        private void ensureWritable() {
            if (file.isDone()) {
                throw new IllegalStateException("writer for " + file.target()
                        + " is already completed or closed");
            }
        }
    }

    /**
     * Refuses a file whose records do not give the fingerprint it stores.
     *
     * @throws SconeFormatException naming the file and both fingerprints
     */
    static void checkFingerprint(Path path, String stored, String content) throws SconeFormatException {
        if (!content.equals(stored)) {
            throw new SconeFormatException(path, "fingerprint mismatch: stored " + stored + ", content gives "
                    + content);
        }
    }

    /** The block index of {@code blocks} blocks, the fingerprint and their checksum: what follows the blocks. */
    private static ByteBuffer indexAndTrailer(int[] blockTokens, int[] blockCrcs, int blocks, String fingerprint) {
        ByteBuffer index = ByteBuffer.allocate(INDEX_ENTRY_BYTES * blocks + TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < blocks; b++) {
            index.putInt(blockTokens[b]).putInt(blockCrcs[b]);
        }
        index.put(HexFormat.of().parseHex(fingerprint));
        CRC32C crc = new CRC32C();
        crc.update(index.array(), 0, index.position());
        index.putInt((int) crc.getValue());
        return index.flip();
    }

    // ---------------------------------------------------------------- writing in parts

    /**
     * F-grams per block in the files this class writes: block b holds the ids
     * {@code [b * BLOCK_FGRAMS, (b + 1) * BLOCK_FGRAMS)}.
     */
    public static final int BLOCK_FGRAMS = 1 << BlockLayout.DEFAULT_BLOCK_BITS;

    /**
     * One block of a vocabulary file, encoded apart from the file ({@link #newBlock}), so that the
     * blocks of a large vocabulary can be encoded in parallel (by the tasks of a distributed job)
     * and joined into the file by one {@link Assembler}.
     *
     * @param index the block's position in the file: its first id is {@code index * BLOCK_FGRAMS}
     * @param fgrams the f-grams it holds
     * @param tokens their tokens together
     * @param crc the CRC32C of its bytes, as the file's block index records it
     * @param bytes its bytes, as the file holds them
     */
    public record EncodedBlock(int index, int fgrams, int tokens, int crc, byte[] bytes) {}

    /**
     * Starts encoding one block of a vocabulary of {@code size} f-grams: add its f-grams in id
     * order, then {@link BlockBuilder#encode()}.
     *
     * @param tokenVocabularySize size of the token vocabulary, at least 1
     * @param maxN K, at least 2
     * @param size S, the f-grams of the whole vocabulary
     * @param index the block, in {@code [0, ceil(S / BLOCK_FGRAMS))}
     * @return the builder
     */
    public static BlockBuilder newBlock(int tokenVocabularySize, int maxN, int size, int index) {
        return new BlockBuilder(tokenVocabularySize, maxN, size, index);
    }

    /** Collects the f-grams of one block ({@link #newBlock}) and encodes it; each f-gram is checked as it is added. */
    public static final class BlockBuilder {
        private final BlockEncoder encoder;
        private final int index;
        private final int capacity;
        private final long firstId;

        private BlockBuilder(int tokenVocabularySize, int maxN, int size, int index) {
            this.encoder = new BlockEncoder(tokenVocabularySize, maxN, BlockLayout.DEFAULT_BLOCK_BITS);
            if (size < 0) {
                throw new IllegalArgumentException("size must be >= 0, got " + size);
            }
            Objects.checkIndex(index, BlockLayout.blockCount(size, BlockLayout.DEFAULT_BLOCK_BITS));
            this.index = index;
            this.capacity = BlockLayout.fgramsIn(size, BlockLayout.DEFAULT_BLOCK_BITS, index);
            this.firstId = (long) index << BlockLayout.DEFAULT_BLOCK_BITS;
        }

        /**
         * Adds the block's next f-gram.
         *
         * @param seq array holding its tokens
         * @param from where they start
         * @param len its length, 2..K
         * @param count its count, at least 0
         * @throws IllegalArgumentException when the f-gram is invalid, naming it by id
         * @throws IllegalStateException when the block already holds all its f-grams
         */
        public void add(int[] seq, int from, int len, long count) {
            if (encoder.fgrams() == capacity) {
                throw new IllegalStateException("block " + index + " already holds its " + capacity + " f-grams");
            }
            encoder.add(firstId + encoder.fgrams(), seq, from, len, count);
        }

        /** @return the f-grams added so far */
        public int added() {
            return encoder.fgrams();
        }

        /** @return the f-grams the block holds when complete */
        public int capacity() {
            return capacity;
        }

        /**
         * @return the encoded block
         * @throws IllegalStateException unless every f-gram of the block was added
         */
        public EncodedBlock encode() {
            int fgrams = encoder.fgrams();
            if (fgrams != capacity) {
                throw new IllegalStateException(fgrams + " of the " + capacity + " f-grams of block " + index
                        + " were added");
            }
            int tokens = encoder.tokens();
            byte[] bytes = new byte[encoder.bytes()];
            encoder.encodeTo(BlockLayout.wrap(bytes));
            CRC32C crc = new CRC32C();
            crc.update(bytes);
            return new EncodedBlock(index, fgrams, tokens, (int) crc.getValue(), bytes);
        }
    }

    /**
     * Starts writing a vocabulary file to a stream from its encoded blocks ({@link #newBlock}),
     * given in order: the header first (it needs each block's token count, so that the file is
     * written front to back, to a file system that only appends), then each block as it is
     * appended, checked against its checksum and its records read into the fingerprint, then the
     * block index and the fingerprint. The file is byte for byte what {@link #write} writes for
     * the same vocabulary. Holds the block index (8 bytes per block) and nothing of the f-grams.
     *
     * @param out where the file's bytes go (not closed); the caller publishes the file atomically
     * @param name the file's name, for messages
     * @param tokenVocabularySize size of the token vocabulary, at least 1
     * @param maxN K, at least 2
     * @param size S
     * @param countedOn the corpus the f-grams were counted on, or null
     * @param blockTokens for each of the {@code ceil(S / BLOCK_FGRAMS)} blocks, the tokens of its f-grams
     * @return the assembler; the header is written
     * @throws IllegalArgumentException when a value is out of range or a block's token count impossible
     * @throws IOException when writing fails
     */
    public static Assembler newAssembler(java.io.OutputStream out, Path name, int tokenVocabularySize, int maxN,
            int size, CountedOn countedOn, int[] blockTokens) throws IOException {
        return new Assembler(out, name, tokenVocabularySize, maxN, size, countedOn, blockTokens);
    }

    /** Joins encoded blocks into a vocabulary file on a stream ({@link #newAssembler}). */
    public static final class Assembler {
        private final java.io.OutputStream out;
        private final Path name;
        private final int tokenVocabularySize;
        private final int maxN;
        private final int size;
        private final int[] blockTokens;
        private final int[] blockCrcs;
        private final FingerprintDigest digest;
        private final int[] scratch;
        private final CRC32C crc = new CRC32C();
        private int next;
        private boolean completed;

        private Assembler(java.io.OutputStream out, Path name, int tokenVocabularySize, int maxN, int size,
                CountedOn countedOn, int[] blockTokens) throws IOException {
            this.out = Objects.requireNonNull(out, "out");
            this.name = name;
            BlockEncoder.checkShape(tokenVocabularySize, maxN, BlockLayout.DEFAULT_BLOCK_BITS);
            if (size < 0) {
                throw new IllegalArgumentException("size must be >= 0, got " + size);
            }
            int bits = BlockLayout.DEFAULT_BLOCK_BITS;
            int blocks = BlockLayout.blockCount(size, bits);
            if (blockTokens.length != blocks) {
                throw new IllegalArgumentException(size + " f-grams make " + blocks + " blocks, got token counts of "
                        + blockTokens.length);
            }
            long tokens = 0;
            long length = HEADER_BYTES_V3 + (long) INDEX_ENTRY_BYTES * blocks + TRAILER_BYTES;
            for (int b = 0; b < blocks; b++) {
                int n = BlockLayout.fgramsIn(size, bits, b);
                if (blockTokens[b] < 2L * n || blockTokens[b] > (long) maxN * n) {
                    throw new IllegalArgumentException("block " + b + " of " + n + " f-grams cannot hold "
                            + blockTokens[b] + " tokens");
                }
                tokens += blockTokens[b];
                length += BlockLayout.blockBytes(n, blockTokens[b]);
            }
            this.tokenVocabularySize = tokenVocabularySize;
            this.maxN = maxN;
            this.size = size;
            this.blockTokens = blockTokens.clone();
            this.blockCrcs = new int[blocks];
            this.digest = new FingerprintDigest(tokenVocabularySize, maxN, size);
            this.scratch = new int[maxN];
            ByteBuffer header = headerV3(tokenVocabularySize, maxN, size, length, countedOn, bits, tokens);
            out.write(header.array(), 0, HEADER_BYTES_V3);
        }

        /**
         * Appends the next block: checks that it is the next one, that its f-grams and tokens are
         * the expected ones, that its bytes match its checksum and hold sound records, and adds its
         * records to the fingerprint.
         *
         * @param block the next block
         * @throws IllegalArgumentException when the block is not the next one or is damaged, naming it
         * @throws IOException when writing fails
         */
        public void append(EncodedBlock block) throws IOException {
            if (completed) {
                throw new IllegalStateException(name + ": the assembler has completed");
            }
            if (next == blockCrcs.length) {
                throw new IllegalStateException(name + ": all " + next + " blocks were appended");
            }
            int b = next;
            int n = BlockLayout.fgramsIn(size, BlockLayout.DEFAULT_BLOCK_BITS, b);
            byte[] bytes = block.bytes();
            if (block.index() != b || block.fgrams() != n || block.tokens() != blockTokens[b]
                    || bytes.length != BlockLayout.blockBytes(n, blockTokens[b])) {
                throw new IllegalArgumentException(name + ": expected block " + b + " of " + n + " f-grams and "
                        + blockTokens[b] + " tokens, got block " + block.index() + " of " + block.fgrams()
                        + " f-grams and " + block.tokens() + " tokens in " + bytes.length + " bytes");
            }
            crc.reset();
            crc.update(bytes);
            if ((int) crc.getValue() != block.crc()) {
                throw new IllegalArgumentException(name + ": block " + b + " does not match its checksum (damaged)");
            }
            ByteBuffer data = BlockLayout.wrap(bytes);
            String wrong = BlockLayout.check(data, 0, n, blockTokens[b], (long) b << BlockLayout.DEFAULT_BLOCK_BITS,
                    tokenVocabularySize, maxN);
            if (wrong != null) {
                throw new IllegalArgumentException(name + ": " + wrong);
            }
            BlockLayout.digest(data, n, digest, scratch);
            out.write(bytes);
            blockCrcs[b] = block.crc();
            next++;
        }

        /**
         * Writes the block index and the fingerprint and flushes the stream (which stays open).
         *
         * @return the vocabulary's fingerprint
         * @throws IllegalStateException unless every block was appended
         * @throws IOException when writing fails
         */
        public String complete() throws IOException {
            if (completed || next != blockCrcs.length) {
                throw new IllegalStateException(name + ": " + next + " of the " + blockCrcs.length
                        + " blocks were appended" + (completed ? " and the file completed" : ""));
            }
            completed = true;
            String fingerprint = digest.finish();
            ByteBuffer trailer = indexAndTrailer(blockTokens, blockCrcs, blockCrcs.length, fingerprint);
            out.write(trailer.array(), 0, trailer.limit());
            out.flush();
            return fingerprint;
        }
    }

    static ByteBuffer headerV3(int tokenVocabularySize, int maxN, int size, long fileLength, CountedOn countedOn,
            int blockBits, long tokens) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES_V3).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(MAGIC).putInt(VERSION).putInt(tokenVocabularySize).putInt(maxN).putInt(size).putLong(fileLength);
        h.put(countedOnBytes(countedOn));
        h.putInt(blockBits).putInt(0).putLong(tokens);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, HEADER_CRC_AT);
        h.putInt(HEADER_CRC_AT, (int) crc.getValue());
        h.position(0).limit(HEADER_BYTES_V3);
        return h;
    }

    private static byte[] countedOnBytes(CountedOn on) {
        byte[] block = new byte[COUNTED_ON_BYTES];
        if (on != null) {
            ByteBuffer c = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
            int flags = 1;
            if (on.origin() != null) {
                c.position(4).put(HexFormat.of().parseHex(on.origin().tokenizer()));
                if (on.origin().compaction() != null) {
                    c.position(12).put(HexFormat.of().parseHex(on.origin().compaction()));
                    flags |= 2;
                }
                flags |= 4;
            }
            c.putInt(0, flags).putInt(24, on.documents()).putLong(28, on.tokens()).putInt(36, on.tokensCrc());
        }
        return block;
    }

    // ---------------------------------------------------------------- reading whole

    /**
     * Reads a vocabulary file whole onto the heap (any format version), checking all of it.
     *
     * @param path the file
     * @return the vocabulary, identical (same fingerprint) to the one written
     * @throws SconeFormatException when the file is truncated, corrupt, foreign or of an unknown
     *     version; the message names the file and the problem
     * @throws IOException when the file cannot be read
     */
    public static FgramVocabulary read(Path path) throws IOException {
        return readContents(path).vocabulary();
    }

    /**
     * Reads the corpus a vocabulary file was counted on from its header (checked, with the header's
     * checksum in version 3; versions 1 and 2 are read and checked whole, as {@link #read} does).
     *
     * @param path the file
     * @return the corpus, or null when the file does not record it (version 1, or written without)
     * @throws SconeFormatException as {@link #read}
     * @throws IOException when the file cannot be read
     */
    public static CountedOn countedOn(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            Header h = Header.read(ch, path);
            return h.version() == VERSION ? Layout.read(ch, path, h).header().countedOn()
                    : Legacy.read(ch, path, h).countedOn();
        }
    }

    /**
     * Reads and checks a vocabulary file once, as {@link #read} does, for a caller that needs both
     * the vocabulary and its corpus.
     *
     * @param path the file
     * @return its contents
     * @throws SconeFormatException as {@link #read}
     * @throws IOException when the file cannot be read
     */
    public static Contents readContents(Path path) throws IOException {
        return readContents(path, RecordStore.SEGMENT_BYTES);
    }

    static Contents readContents(Path path, long segmentBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            Header h = Header.read(ch, path);
            if (h.version() != VERSION) {
                return Legacy.read(ch, path, h);
            }
            Layout layout = Layout.read(ch, path, h);
            FgramVocabulary range = layout.readBlocks(ch, 0, h.size(), segmentBytes);
            RecordStore records = range.records();
            String content = range.computeFingerprint();
            checkFingerprint(path, layout.fingerprint(), content);
            FgramIndex index;
            try {
                index = FgramIndex.build(records, FgramIndex.DEFAULT_CHUNK_BITS);
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(path, "invalid content: " + e.getMessage(), e);
            }
            return new Contents(new FgramVocabulary(records, index, content), h.countedOn());
        }
    }

    // ---------------------------------------------------------------- reading a range

    /**
     * Reads the records of the ids {@code [from, to)} onto the heap, and no others: only their blocks
     * are read from the file and checked (checksums and records). The vocabulary returned answers
     * {@link FgramVocabulary#size()}, {@link FgramVocabulary#maxN()} and
     * {@link FgramVocabulary#fingerprint()} (as the file records it) for the whole vocabulary, and
     * reads the records of its range only ({@link FgramVocabulary#heldFrom()},
     * {@link FgramVocabulary#heldTo()}); it has no exact index. A file of version 1 or 2 has no
     * block index and is read whole.
     *
     * @param path the file
     * @param from the first id
     * @param to the id after the last
     * @return the vocabulary's range
     * @throws IndexOutOfBoundsException when the range is not within {@code [0, S]}
     * @throws SconeFormatException when the header, index or a block read is damaged
     * @throws IOException when the file cannot be read
     */
    public static FgramVocabulary readRange(Path path, int from, int to) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return readRange(ch, path, from, to, RecordStore.SEGMENT_BYTES);
        }
    }

    /**
     * Reads the records of the ids {@code [from, to)} from a channel, as {@link #readRange(Path, int,
     * int)} does from a file: for a file on a distributed file system, through a channel over its
     * positioned reads, so that a task reads the bytes of its range and no others.
     *
     * @param channel the file's content (its position is moved)
     * @param name the file's name, for messages
     * @param from the first id
     * @param to the id after the last
     * @return the vocabulary's range
     * @throws IOException as {@link #readRange(Path, int, int)}
     */
    public static FgramVocabulary readRange(SeekableByteChannel channel, Path name, int from, int to)
            throws IOException {
        return readRange(channel, name, from, to, RecordStore.SEGMENT_BYTES);
    }

    static FgramVocabulary readRange(SeekableByteChannel ch, Path name, int from, int to, long segmentBytes)
            throws IOException {
        Objects.requireNonNull(ch, "channel");
        Header h = Header.read(ch, name);
        if (h.version() != VERSION) {
            FgramVocabulary whole = Legacy.read(ch, name, h).vocabulary();
            java.util.Objects.checkFromToIndex(from, to, whole.size());
            return whole;
        }
        Layout layout = Layout.read(ch, name, h);
        java.util.Objects.checkFromToIndex(from, to, h.size());
        return layout.readBlocks(ch, from, to, segmentBytes);
    }

    // ---------------------------------------------------------------- mapping

    /**
     * Opens a vocabulary file memory-mapped: its header and block index are read and checked
     * (milliseconds, whatever its size), and its records are read from the mapping as they are
     * asked for, each block checked when it is first read, so that the vocabulary is never held
     * on the heap and a consumer of a range of ids touches only that range's pages. A file of
     * version 1 or 2 cannot be mapped (it has no block index): it is read whole onto the heap.
     *
     * @param path the file
     * @return the open file; close it
     * @throws SconeFormatException when the header or the block index is damaged, foreign or of an unknown version
     * @throws IOException when the file cannot be read
     */
    public static MappedFgramVocabulary open(Path path) throws IOException {
        return open(path, RecordStore.SEGMENT_BYTES);
    }

    /** Opens with mappings of about {@code segmentBytes} each (small values let tests cross them). */
    static MappedFgramVocabulary open(Path path, long segmentBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        boolean ok = false;
        try {
            Header h = Header.read(ch, path);
            if (h.version() != VERSION) {
                Contents c = Legacy.read(ch, path, h);
                return new MappedFgramVocabulary(path, h.version(), c.vocabulary(), c.countedOn());
            }
            Layout layout = Layout.read(ch, path, h);
            Layout.Grouping g = layout.group(0, layout.blocks(), segmentBytes);
            ByteBuffer[] segments = new ByteBuffer[g.starts().length];
            for (int s = 0; s < segments.length; s++) {
                // Java 17 cannot unmap: the mappings stay until the garbage collector drops the
                // vocabulary, and close() refuses later reads.
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, g.starts()[s], g.lengths()[s]);
                segments[s] = m.order(ByteOrder.LITTLE_ENDIAN);
            }
            // The channel stays open (the store checks blocks through it) until the file is closed.
            RecordStore records = layout.store(segments, g, 0, h.size(), ch);
            ok = true;
            return new MappedFgramVocabulary(path, VERSION,
                    new FgramVocabulary(records, null, layout.fingerprint()), h.countedOn());
        } finally {
            if (!ok) {
                ch.close();
            }
        }
    }

    // ---------------------------------------------------------------- the header

    /**
     * A vocabulary file's header, checked: the magic number, the version, (version 3) the header's
     * checksum and values, and that the file has the length the header states.
     */
    record Header(int version, int tokenVocabularySize, int maxN, int size, long fileLength, CountedOn countedOn,
            int blockBits, long tokens) {

        static Header read(SeekableByteChannel ch, Path path) throws IOException {
            long size = ch.size();
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(size, HEADER_BYTES_V3)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, b, 0, path);
            if (size < 8) {
                throw new SconeFormatException(path, "truncated: " + size
                        + " bytes, shorter than the 8-byte magic number");
            }
            long magic = b.getLong(0);
            if (magic != MAGIC) {
                throw new SconeFormatException(path, "not an f-gram vocabulary file: magic number 0x"
                        + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC) + " (\"SCONEFGV\")");
            }
            if (size < 12) {
                throw new SconeFormatException(path, "truncated: " + size + " bytes, the header needs "
                        + HEADER_BYTES_V3);
            }
            int version = b.getInt(8);
            if (version != VERSION && version != VERSION_2 && version != VERSION_1) {
                throw new SconeFormatException(path, "unknown format version " + version
                        + " (this build reads versions " + VERSION_1 + ", " + VERSION_2 + " and " + VERSION + ")");
            }
            if (version != VERSION) {
                int first = version == VERSION_1 ? HEADER_BYTES : RECORDS_AT_V2;
                if (size < first + TRAILER_BYTES) {
                    throw new SconeFormatException(path, "truncated: " + size + " bytes, an empty vocabulary needs "
                            + (first + TRAILER_BYTES));
                }
                long declared = b.getLong(24);
                if (declared != size) {
                    throw new SconeFormatException(path, (size < declared ? "truncated" : "trailing bytes")
                            + ": the header says " + declared + " bytes, the file has " + size);
                }
                return new Header(version, b.getInt(12), b.getInt(16), b.getInt(20), size, null, 0, 0);
            }
            if (size < HEADER_BYTES_V3) {
                throw new SconeFormatException(path, "truncated: " + size + " bytes, the header needs "
                        + HEADER_BYTES_V3);
            }
            CRC32C crc = new CRC32C();
            crc.update(b.array(), 0, HEADER_CRC_AT);
            if ((int) crc.getValue() != b.getInt(HEADER_CRC_AT)) {
                throw new SconeFormatException(path, "header checksum mismatch (damaged header)");
            }
            long declared = b.getLong(24);
            if (declared != size) {
                throw new SconeFormatException(path, (size < declared ? "truncated" : "trailing bytes")
                        + ": the header says " + declared + " bytes, the file has " + size);
            }
            int tokenVocabularySize = b.getInt(12);
            int maxN = b.getInt(16);
            int s = b.getInt(20);
            int blockBits = b.getInt(72);
            long tokens = b.getLong(80);
            if (tokenVocabularySize < 1 || maxN < FgramVocabulary.MIN_N || s < 0 || !BlockLayout.fits(blockBits, maxN)
                    || tokens < 2L * s || tokens > (long) maxN * s) {
                throw new SconeFormatException(path, "impossible header: token vocabulary size " + tokenVocabularySize
                        + ", maxN " + maxN + ", S " + s + ", blockBits " + blockBits + ", tokens " + tokens);
            }
            return new Header(version, tokenVocabularySize, maxN, s, size, countedOnOf(b, path), blockBits, tokens);
        }
    }

    private static CountedOn countedOnOf(ByteBuffer b, Path path) throws SconeFormatException {
        int flags = b.getInt(HEADER_BYTES);
        if (flags == 0) {
            return null;
        }
        if ((flags & ~7) != 0 || (flags & 1) == 0 || ((flags & 2) != 0 && (flags & 4) == 0)) {
            throw new SconeFormatException(path, "invalid counted-on flags " + flags);
        }
        TokenIdFile.Origin origin = null;
        if ((flags & 4) != 0) {
            byte[] t = new byte[8];
            byte[] c = new byte[12];
            b.get(HEADER_BYTES + 4, t);
            b.get(HEADER_BYTES + 12, c);
            origin = new TokenIdFile.Origin(HexFormat.of().formatHex(t),
                    (flags & 2) != 0 ? HexFormat.of().formatHex(c) : null);
        }
        return new CountedOn(origin, b.getInt(HEADER_BYTES + 24), b.getLong(HEADER_BYTES + 28),
                b.getInt(HEADER_BYTES + 36));
    }

    // ---------------------------------------------------------------- version 3: the block index

    /**
     * Where a version-3 file's blocks are: read from its block index (checked against its checksum,
     * the header's token count and the file's length).
     */
    record Layout(Path path, Header header, int blocks, int[] blockTokens, int[] blockCrcs, long[] blockOffsets,
            String fingerprint) {

        static Layout read(SeekableByteChannel ch, Path path, Header h) throws IOException {
            int blocks = BlockLayout.blockCount(h.size(), h.blockBits());
            long indexAt = h.fileLength() - TRAILER_BYTES - (long) INDEX_ENTRY_BYTES * blocks;
            if (indexAt < HEADER_BYTES_V3 || (long) INDEX_ENTRY_BYTES * blocks > Integer.MAX_VALUE - 64) {
                throw new SconeFormatException(path, "impossible header: " + h.fileLength() + " bytes cannot hold "
                        + h.size() + " f-grams in " + blocks + " blocks");
            }
            ByteBuffer index = ByteBuffer.allocate(INDEX_ENTRY_BYTES * blocks + TRAILER_BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, index, indexAt, path);
            CRC32C crc = new CRC32C();
            crc.update(index.array(), 0, index.capacity() - 4);
            if ((int) crc.getValue() != index.getInt(index.capacity() - 4)) {
                throw new SconeFormatException(path, "block index checksum mismatch (damaged index or fingerprint)");
            }
            int[] tokens = new int[blocks];
            int[] crcs = new int[blocks];
            long[] offsets = new long[blocks + 1];
            offsets[0] = HEADER_BYTES_V3;
            long total = 0;
            for (int b = 0; b < blocks; b++) {
                tokens[b] = index.getInt(INDEX_ENTRY_BYTES * b);
                crcs[b] = index.getInt(INDEX_ENTRY_BYTES * b + 4);
                int n = BlockLayout.fgramsIn(h.size(), h.blockBits(), b);
                if (tokens[b] < 2L * n || tokens[b] > (long) h.maxN() * n) {
                    throw new SconeFormatException(path, "the index says block " + b + " of " + n + " f-grams holds "
                            + tokens[b] + " tokens, outside [" + 2L * n + ", " + (long) h.maxN() * n + "]");
                }
                total += tokens[b];
                offsets[b + 1] = offsets[b] + BlockLayout.blockBytes(n, tokens[b]);
            }
            if (total != h.tokens() || offsets[blocks] != indexAt) {
                throw new SconeFormatException(path, "the block index describes " + total + " tokens in "
                        + (offsets[blocks] - HEADER_BYTES_V3) + " bytes, the header " + h.tokens() + " tokens in "
                        + (indexAt - HEADER_BYTES_V3));
            }
            byte[] fp = new byte[16];
            index.get(INDEX_ENTRY_BYTES * blocks, fp);
            return new Layout(path, h, blocks, tokens, crcs, offsets, HexFormat.of().formatHex(fp));
        }

        /**
         * How the blocks {@code [b0, b1)} are grouped into buffers of about {@code segmentBytes}
         * (whole blocks each; at least one block per buffer).
         */
        record Grouping(int firstBlock, long[] starts, long[] lengths, int[] blockSegment, int[] blockAt) {}

        Grouping group(int b0, int b1, long segmentBytes) {
            int held = b1 - b0;
            int[] blockSegment = new int[held];
            int[] blockAt = new int[held];
            java.util.List<long[]> segs = new java.util.ArrayList<>();
            int b = b0;
            while (b < b1) {
                long start = blockOffsets[b];
                int first = b;
                while (b < b1 && (b == first || blockOffsets[b + 1] - start <= segmentBytes)) {
                    blockSegment[b - b0] = segs.size();
                    blockAt[b - b0] = (int) (blockOffsets[b] - start);
                    b++;
                }
                segs.add(new long[] {start, blockOffsets[b] - start});
            }
            long[] starts = new long[segs.size()];
            long[] lengths = new long[segs.size()];
            for (int s = 0; s < starts.length; s++) {
                starts[s] = segs.get(s)[0];
                lengths[s] = segs.get(s)[1];
            }
            return new Grouping(b0, starts, lengths, blockSegment, blockAt);
        }

        RecordStore store(ByteBuffer[] segments, Grouping g, int from, int to, FileChannel channel) {
            int held = g.blockSegment().length;
            int b0 = g.firstBlock();
            return new RecordStore(path, header.tokenVocabularySize(), header.maxN(), header.size(),
                    header.blockBits(), from, to, b0, segments, g.blockSegment(), g.blockAt(),
                    java.util.Arrays.copyOfRange(blockTokens, b0, b0 + held), channel,
                    java.util.Arrays.copyOfRange(blockCrcs, b0, b0 + held),
                    java.util.Arrays.copyOfRange(blockOffsets, b0, b0 + held), header.fileLength());
        }

        /**
         * Reads the blocks holding the ids {@code [from, to)} onto the heap and checks each.
         *
         * @return a vocabulary holding those ids, with the fingerprint the file records
         */
        FgramVocabulary readBlocks(SeekableByteChannel ch, int from, int to, long segmentBytes) throws IOException {
            int bits = header.blockBits();
            int b0 = from == to ? 0 : from >>> bits;
            int b1 = from == to ? 0 : (int) ((to + (1L << bits) - 1) >>> bits);
            Grouping g = group(b0, b1, segmentBytes);
            ByteBuffer[] segments = new ByteBuffer[g.starts().length];
            for (int s = 0; s < segments.length; s++) {
                ByteBuffer seg = ByteBuffer.allocate((int) g.lengths()[s]).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, seg, g.starts()[s], path);
                segments[s] = seg.clear();
            }
            RecordStore records = store(segments, g, from, to, null);
            for (int b = 0; b < b1 - b0; b++) {
                records.readBlock(b);
            }
            return new FgramVocabulary(records, null, fingerprint);
        }
    }

    // ---------------------------------------------------------------- versions 1 and 2

    /** Reads the files of versions 1 and 2, whose records can only be read one after another. */
    private static final class Legacy {

        static Contents read(SeekableByteChannel ch, Path path, Header h) throws IOException {
            long size = h.fileLength();
            int first = h.version() == VERSION_1 ? HEADER_BYTES : RECORDS_AT_V2;
            // The whole-file checksum comes first, so that damage anywhere is reported as such.
            CRC32C crc = new CRC32C();
            ByteBuffer buf = ByteBuffer.allocate(IO_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (long at = 0; at < size - 4; ) {
                buf.clear().limit((int) Math.min(buf.capacity(), size - 4 - at));
                readFully(ch, buf, at, path);
                crc.update(buf.array(), 0, buf.limit());
                at += buf.limit();
            }
            ByteBuffer tail = ByteBuffer.allocate(TRAILER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, tail, size - TRAILER_BYTES, path);
            int stored = tail.getInt(16);
            if (stored != (int) crc.getValue()) {
                throw new SconeFormatException(path, "checksum mismatch: stored CRC32C 0x" + Integer.toHexString(stored)
                        + ", content gives 0x" + Integer.toHexString((int) crc.getValue()) + " (file damaged)");
            }
            ByteBuffer head = ByteBuffer.allocate(first).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head, 0, path);
            int maxN = h.maxN();
            int s = h.size();
            if (maxN < FgramVocabulary.MIN_N || s < 0) {
                throw new SconeFormatException(path, "invalid header: maxN " + maxN + ", S " + s);
            }
            long end = size - TRAILER_BYTES;
            if ((end - first) / 16 < s) {
                throw new SconeFormatException(path, "header says " + s + " f-grams, the file has room for at most "
                        + (end - first) / 16);
            }
            FgramVocabulary.Builder builder;
            try {
                builder = FgramVocabulary.builder(h.tokenVocabularySize(), maxN);
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(path, "invalid header: " + e.getMessage(), e);
            }
            // The records, read through a window over the file that is refilled as it empties: the
            // window's position is at file position pos.
            int[] gram = new int[maxN];
            int record = 12 + 4 * maxN;
            ByteBuffer win = ByteBuffer.allocate(Math.max(IO_BYTES, 2 * record)).order(ByteOrder.LITTLE_ENDIAN);
            win.limit(0);
            long pos = first;
            for (int id = 0; id < s; id++) {
                if (pos + 4 > end) {
                    throw new SconeFormatException(path, "record " + id + " runs past the end of the records");
                }
                if (win.remaining() < record && pos + win.remaining() < end) {
                    int have = win.remaining();
                    win.compact();
                    long readFrom = pos + have;
                    int room = (int) Math.min(win.capacity() - have, end - readFrom);
                    win.limit(have + room);
                    readFully(ch, win, readFrom, path);
                    win.flip();
                }
                int n = win.getInt();
                if (n < FgramVocabulary.MIN_N || n > maxN) {
                    throw new SconeFormatException(path, "f-gram " + id + " has length " + n + ", outside ["
                            + FgramVocabulary.MIN_N + ", " + maxN + "]");
                }
                if (pos + 4 + 4L * n + 8 > end) {
                    throw new SconeFormatException(path, "record " + id + " runs past the end of the records");
                }
                for (int k = 0; k < n; k++) {
                    gram[k] = win.getInt();
                }
                long count = win.getLong();
                pos += 12 + 4L * n;
                try {
                    builder.add(gram, 0, n, count);
                } catch (IllegalArgumentException e) {
                    throw new SconeFormatException(path, "invalid content: " + e.getMessage(), e);
                }
            }
            if (pos != end) {
                throw new SconeFormatException(path, (end - pos) + " bytes left over after " + s + " f-grams");
            }
            FgramVocabulary v;
            try {
                v = builder.build();
            } catch (IllegalArgumentException e) {
                throw new SconeFormatException(path, "invalid content: " + e.getMessage(), e);
            }
            byte[] fp = new byte[16];
            tail.get(0, fp);
            checkFingerprint(path, HexFormat.of().formatHex(fp), v.fingerprint());
            return new Contents(v, h.version() == VERSION_1 ? null : countedOnOf(head, path));
        }
    }

    private static void readFully(SeekableByteChannel ch, ByteBuffer b, long at, Path path) throws IOException {
        long p = at;
        while (b.hasRemaining()) {
            int n = ch instanceof FileChannel f ? f.read(b, p) : ch.position(p).read(b);
            if (n < 0) {
                throw new SconeFormatException(path, "truncated: the file ended at byte " + p + " while reading");
            }
            p += n;
        }
    }
}
