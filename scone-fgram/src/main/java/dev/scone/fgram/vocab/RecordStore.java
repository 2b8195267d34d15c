package dev.scone.fgram.vocab;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.zip.CRC32C;

/**
 * The records of a vocabulary, or of a range of its ids, in the block layout ({@link BlockLayout}):
 * blocks held in byte buffers of up to about a GiB each, either arrays on the heap or mappings of
 * a vocabulary file. The one reader of the layout.
 *
 * <p>The blocks of a mapped file are checked lazily: the first read of a block reads it from the
 * file into the heap, compares its CRC32C with the file's index and checks its records, so that a
 * damaged block is refused before any of its records is returned, and a file is never read in full
 * merely to be opened. A block cut from the file before its first read is refused the same way. A
 * fault in a mapped page of a block already checked (the file was cut later) raises the JDK's
 * InternalError, which the record reads turn into a {@link FgramVocabularyCorruptedException}
 * naming the file where the JDK raises it inside them (in compiled code it may surface a little
 * after the read, as the InternalError itself); the JVM does not crash either way.
 */
final class RecordStore {

    /** Bytes per buffer: blocks are grouped into buffers of about this size. */
    static final long SEGMENT_BYTES = 1L << 30;

    final Path file; // null: built in memory
    final int tokenVocabularySize;
    final int maxN;
    final int size;
    final int blockBits;
    final int from; // the ids held: [from, to)
    final int to;
    private final int firstBlock; // blocks held: [firstBlock, firstBlock + blocks)
    private final ByteBuffer[] segments;
    private final IntBuffer[] segmentInts;
    private final int[] blockSegment; // per held block
    private final int[] blockAt; // byte position of the block in its segment
    private final int[] blockTokens;
    private final int[] endsAt; // byte position of a block's ends in its segment
    private final int[] tokensAt; // byte position of a block's tokens in its segment
    private final int idMask;
    private final boolean mapped;
    // A mapped file's blocks are checked through reads of this channel (kept open until close), never
    // through the mapping: a read past a cut file's end is then an end of file, not a fault.
    private volatile FileChannel channel;
    private final Object fileKey;
    // Checks by block: null when the blocks were built in memory and need none.
    private final int[] blockCrc;
    private final long[] blockFileOffset;
    private final boolean[] checked; // benign races: a block may be checked twice, never skipped
    private final long fileLength;
    private volatile boolean closed;

    RecordStore(Path file, int tokenVocabularySize, int maxN, int size, int blockBits, int from, int to,
            int firstBlock, ByteBuffer[] segments, int[] blockSegment, int[] blockAt, int[] blockTokens,
            FileChannel channel, int[] blockCrc, long[] blockFileOffset, long fileLength) {
        this.file = file;
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        this.size = size;
        this.blockBits = blockBits;
        this.from = from;
        this.to = to;
        this.firstBlock = firstBlock;
        this.segments = segments;
        this.segmentInts = new IntBuffer[segments.length];
        for (int s = 0; s < segments.length; s++) {
            segmentInts[s] = segments[s].duplicate().clear().order(segments[s].order()).asIntBuffer();
        }
        this.blockSegment = blockSegment;
        this.blockAt = blockAt;
        this.blockTokens = blockTokens;
        this.idMask = (1 << blockBits) - 1;
        this.endsAt = new int[blockSegment.length];
        this.tokensAt = new int[blockSegment.length];
        for (int b = 0; b < blockSegment.length; b++) {
            int n = BlockLayout.fgramsIn(size, blockBits, firstBlock + b);
            endsAt[b] = blockAt[b] + 8 * n;
            tokensAt[b] = endsAt[b] + 4 * n;
        }
        this.blockCrc = blockCrc;
        this.blockFileOffset = blockFileOffset;
        this.mapped = channel != null;
        this.channel = channel;
        this.fileKey = channel == null ? null : fileKeyOf(file);
        this.checked = blockCrc == null ? null : new boolean[blockSegment.length];
        this.fileLength = fileLength;
    }

    /** @return the number of blocks held */
    int heldBlocks() {
        return blockSegment.length;
    }

    /** @return the first block held */
    int firstBlock() {
        return firstBlock;
    }

    /** @return whether the records are mapped from a file */
    boolean isMapped() {
        return mapped;
    }

    /** Refuses every later read, and closes a mapped file's channel. */
    void close() {
        closed = true;
        FileChannel ch = channel;
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // nothing was written: nothing is lost
            }
        }
    }

    int length(int id) {
        try {
            int b = block(id);
            ByteBuffer s = segments[blockSegment[b]];
            int i = id & idMask;
            int e = endsAt[b] + 4 * i;
            return i == 0 ? s.getInt(e) : s.getInt(e) - s.getInt(e - 4);
        } catch (InternalError e) {
            throw faulted(e, id);
        }
    }

    long count(int id) {
        try {
            int b = block(id);
            return segments[blockSegment[b]].getLong(blockAt[b] + 8 * (id & idMask));
        } catch (InternalError e) {
            throw faulted(e, id);
        }
    }

    int token(int id, int k) {
        try {
            int b = block(id);
            ByteBuffer s = segments[blockSegment[b]];
            int i = id & idMask;
            int e = endsAt[b] + 4 * i;
            int start = i == 0 ? 0 : s.getInt(e - 4);
            java.util.Objects.checkIndex(k, s.getInt(e) - start);
            return s.getInt(tokensAt[b] + 4 * (start + k));
        } catch (InternalError e) {
            throw faulted(e, id);
        }
    }

    int copyTokens(int id, int[] dst, int dstOffset) {
        try {
            int b = block(id);
            ByteBuffer s = segments[blockSegment[b]];
            int i = id & idMask;
            int e = endsAt[b] + 4 * i;
            int start = i == 0 ? 0 : s.getInt(e - 4);
            int len = s.getInt(e) - start;
            java.util.Objects.checkFromIndexSize(dstOffset, len, dst.length);
            segmentInts[blockSegment[b]].get((tokensAt[b] >>> 2) + start, dst, dstOffset, len);
            return len;
        } catch (InternalError e) {
            throw faulted(e, id);
        }
    }

    boolean equalsAt(int id, int[] seq, int from, int len) {
        try {
            int b = block(id);
            ByteBuffer s = segments[blockSegment[b]];
            int i = id & idMask;
            int e = endsAt[b] + 4 * i;
            int start = i == 0 ? 0 : s.getInt(e - 4);
            if (s.getInt(e) - start != len) {
                return false;
            }
            int at = tokensAt[b] + 4 * start;
            for (int k = 0; k < len; k++) {
                if (s.getInt(at + 4 * k) != seq[from + k]) {
                    return false;
                }
            }
            return true;
        } catch (InternalError e) {
            throw faulted(e, id);
        }
    }

    /**
     * A held block's bytes for a scan of its records in order: for a mapped file, a heap copy read
     * through the file's channel (checked first if it was not yet), so that a scan never faults on
     * a page cut from the file; on the heap, the block itself.
     *
     * @param b a held block
     * @return a little-endian buffer over the block's bytes, from index 0
     * @throws IOException as {@link #readBlock}
     */
    ByteBuffer scanBlock(int b) throws IOException {
        if (checked != null && !checked[b]) {
            return readBlock(b);
        }
        checkOpen();
        return rawBlock(b);
    }

    /** A held block's bytes, unchecked: a heap copy read through the channel, or the heap segment's slice. */
    private ByteBuffer rawBlock(int b) throws IOException {
        int bytes = (int) BlockLayout.blockBytes(fgramsIn(b), blockTokens[b]);
        if (mapped) {
            ByteBuffer block = BlockLayout.wrap(new byte[bytes]);
            readFromFile(block, blockFileOffset[b], b);
            return block.clear();
        }
        ByteBuffer block = segments[blockSegment[b]].duplicate();
        block.position(blockAt[b]).limit(blockAt[b] + bytes);
        return block.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Checks a held block: its checksum (when known) and its records. A mapped block is read into
     * the heap through the file's channel, so that a block cut from the file is an exception here.
     *
     * @param b a held block
     * @return a little-endian buffer over the block's bytes, from index 0
     * @throws SconeFormatException when the block is damaged or was cut from the file
     * @throws IOException when the file cannot be read
     */
    ByteBuffer readBlock(int b) throws IOException {
        checkOpen();
        int n = fgramsIn(b);
        ByteBuffer block = rawBlock(b);
        if (blockCrc != null) {
            CRC32C crc = new CRC32C();
            crc.update(block.duplicate());
            if ((int) crc.getValue() != blockCrc[b]) {
                throw new SconeFormatException(file, "checksum mismatch in " + describeBlock(b)
                        + " (damaged records)");
            }
        }
        String problem = BlockLayout.check(block, 0, n, blockTokens[b], firstIdOf(b), tokenVocabularySize, maxN);
        if (problem != null) {
            throw new SconeFormatException(file, "invalid " + describeBlock(b) + ": " + problem);
        }
        if (checked != null) {
            checked[b] = true;
        }
        return block;
    }

    /**
     * Reads a mapped file's bytes through its channel. An interrupt closes a channel for every
     * thread: the interrupted read fails, and the others reopen the file, if it is still the one
     * that was opened.
     */
    private void readFromFile(ByteBuffer dst, long at, int b) throws IOException {
        for (int attempt = 0;; attempt++) {
            FileChannel ch = channel;
            try {
                long p = at + dst.position();
                while (dst.hasRemaining()) {
                    int r = ch.read(dst, p);
                    if (r < 0) {
                        throw new SconeFormatException(file, "the file was cut while open (" + sizeNow() + "): "
                                + describeBlock(b) + " is gone");
                    }
                    p += r;
                }
                return;
            } catch (java.nio.channels.ClosedByInterruptException e) {
                reopen(ch);
                throw e;
            } catch (java.nio.channels.ClosedChannelException e) {
                checkOpen();
                if (attempt > 0) {
                    throw e;
                }
                reopen(ch);
            }
        }
    }

    private synchronized void reopen(FileChannel old) throws IOException {
        if (channel != old || closed) {
            return;
        }
        if (!java.util.Objects.equals(fileKeyOf(file), fileKey)) {
            throw new SconeFormatException(file, "the file was replaced while open, and its channel was closed by"
                    + " an interrupt: open it again");
        }
        channel = FileChannel.open(file, StandardOpenOption.READ);
    }

    private static Object fileKeyOf(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** @return the id of a held block's first f-gram */
    long firstIdOf(int b) {
        return (long) (firstBlock + b) << blockBits;
    }

    /** @return the f-grams of a held block */
    int fgramsIn(int b) {
        return BlockLayout.fgramsIn(size, blockBits, firstBlock + b);
    }

    private String describeBlock(int b) {
        long first = firstIdOf(b);
        return "block " + (firstBlock + b) + " (f-grams " + first + " to " + (first + fgramsIn(b) - 1)
                + (blockFileOffset == null ? "" : ", at byte " + blockFileOffset[b]) + ")";
    }

    private int block(int id) {
        if (id < from || id >= to) {
            java.util.Objects.checkIndex(id, size);
            throw new IndexOutOfBoundsException("f-gram id " + id + " is outside the ids [" + from + ", " + to
                    + ") read from " + file);
        }
        if (mapped) {
            checkOpen();
        }
        int b = (id >>> blockBits) - firstBlock;
        if (checked != null && !checked[b]) {
            try {
                readBlock(b);
            } catch (SconeFormatException e) {
                throw new FgramVocabularyCorruptedException(e);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(file + ": " + e.getMessage(), e);
            }
        }
        return b;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the vocabulary file " + file + " is closed");
        }
    }

    private FgramVocabularyCorruptedException faulted(InternalError e, int id) {
        return new FgramVocabularyCorruptedException(new SconeFormatException(file, describeFault(e)
                + " while reading f-gram " + id, e));
    }

    private String describeFault(InternalError e) {
        return "a mapped page could not be read (the file was cut or is unreadable: " + sizeNow() + ")";
    }

    private String sizeNow() {
        long now;
        try {
            now = file == null ? -1 : Files.size(file);
        } catch (IOException | RuntimeException x) {
            now = -1;
        }
        return now < 0 ? "the file is gone" : now + " bytes, " + fileLength + " when it was opened";
    }
}
