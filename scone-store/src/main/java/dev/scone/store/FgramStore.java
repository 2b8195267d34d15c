package dev.scone.store;

import dev.scone.core.FgramEmbeddingTable;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.longs.Long2IntMaps;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.StampedLock;
import java.util.zip.CRC32C;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open f-gram store, read-only: the precomputed vectors F of every f-gram, keyed by the exact
 * f-gram token sequence, so the store alone answers "is this an f-gram?" with no false match.
 *
 * <p>Lookups: a point lookup (tokens to row and vector) and a batch lookup over a (B, T) window
 * of token ids that finds, for every position, the longest f-gram ending there (never reaching
 * before its row's start, longest first, at most K - 1 probes) and writes its (E) vector into a
 * caller's reusable (B, T, E) array, allocating nothing per token. {@link #lookupLast} finds, for
 * incremental decoding, only the longest f-gram ending at the last token of each of several rows.
 * {@link #prefetch} runs a batch lookup on an executor so the next batch resolves while the
 * current one runs. Lookups are safe from any number of threads.
 *
 * <p>Integrity: the manifest, vector file header and (by default) the whole index file
 * are checked at {@link #open}, and the vector file must hold the vectors of the manifest's
 * model and f-gram vocabulary (its header records them), so a vector file copied in from another
 * store is refused; every vector read is checked against its row's CRC32C, which also
 * covers the f-gram's key, so a damaged vector or index entry throws
 * {@link FgramStoreCorruptedException} instead of returning a wrong vector. The vector file is
 * mapped read-only. {@link #verify()} checks every entry.
 *
 * <p>Several processes: any number may open and read one store at once. Reading writes nothing
 * to the vector file; in the index, Chronicle Map takes and releases a segment's read lock in
 * the file for each query that reaches it (in {@link IndexMode#HEAP} mode only while the index
 * is loaded at open), and the open-time checksum counts those lock words as written. A file cut
 * or replaced while a store is open is a {@link FgramStoreCorruptedException} naming the file
 * (and, for the vector file, the row), never a JVM crash: rows are copied out of the mapping
 * before they are checked.
 *
 * <p>Vectors decode exactly for {@link VectorDtype#FLOAT32} and within the bounds documented on
 * {@link VectorDtype} otherwise.
 *
 * <p>A store is an {@link FgramEmbeddingTable}: a {@link dev.scone.core.TableEmbeddingBlock} over
 * the trained token embedding and the store serves a SCONE model's input embedding from it (see
 * {@link #lookup(int[], int, int, float[], int[])}).
 *
 * <p>A Bloom filter over the keys, rebuilt in memory at open from the index (about 1.5 bytes of
 * heap per f-gram), lets most probes that cannot match skip the index.
 */
public final class FgramStore implements FgramEmbeddingTable {

    private static final Logger LOG = LoggerFactory.getLogger(FgramStore.class);

    /** Where the key index lives while the store is open. */
    public enum IndexMode {
        /** Query the Chronicle Map file (off-heap; memory grows with nothing but the page cache). */
        CHRONICLE,
        /**
         * Copy the index into an in-heap hash table at open (about 24 bytes of heap per f-gram)
         * and close the Chronicle Map; several times faster per probe. Needs
         * {@code K * bits(token vocabulary size) <= 64}.
         */
        HEAP,
        /**
         * {@link #HEAP} when it applies and the heap index would take under a quarter of the
         * maximum heap, else {@link #CHRONICLE}.
         */
        AUTO
    }

    /** Heap bytes per f-gram of the {@link IndexMode#HEAP} index, as estimated for {@link IndexMode#AUTO}. */
    static final long HEAP_INDEX_BYTES_PER_ENTRY = 32;

    /**
     * How to open a store.
     *
     * @param expectations what the manifest must say (see {@link StoreExpectations})
     * @param indexMode where the key index lives while open
     * @param verifyIndexChecksum whether to check the whole index file's CRC32C at open (reads
     *     the whole file once; an intact index is checked before Chronicle Map maps it). The
     *     segment lock words that other processes reading the same store take and release count
     *     as written (zero), so any number of readers may open a store that others are reading
     * @param prefetchExecutor where {@link #prefetch} runs; {@code null}: one daemon thread owned by the store
     */
    public record OpenOptions(StoreExpectations expectations, IndexMode indexMode, boolean verifyIndexChecksum,
            Executor prefetchExecutor) {

        /** Checks the arguments. */
        public OpenOptions {
            Objects.requireNonNull(expectations, "expectations");
            Objects.requireNonNull(indexMode, "indexMode");
        }

        /** @return no expectations, {@link IndexMode#AUTO}, index checksum verified, own prefetch thread */
        public static OpenOptions defaults() {
            return new OpenOptions(StoreExpectations.none(), IndexMode.AUTO, true, null);
        }

        /** @param value expectations @return a copy with them */
        public OpenOptions withExpectations(StoreExpectations value) {
            return new OpenOptions(value, indexMode, verifyIndexChecksum, prefetchExecutor);
        }

        /** @param value index mode @return a copy with it */
        public OpenOptions withIndexMode(IndexMode value) {
            return new OpenOptions(expectations, value, verifyIndexChecksum, prefetchExecutor);
        }

        /** @param value whether to check the index file at open @return a copy with it */
        public OpenOptions withVerifyIndexChecksum(boolean value) {
            return new OpenOptions(expectations, indexMode, value, prefetchExecutor);
        }

        /** @param value the prefetch executor (not shut down by the store) @return a copy with it */
        public OpenOptions withPrefetchExecutor(Executor value) {
            return new OpenOptions(expectations, indexMode, verifyIndexChecksum, value);
        }
    }

    private final Path dir;
    private final Path vectorFile;
    private final Path indexFile;
    private final StoreManifest manifest;
    private final FgramKeyCodec codec;
    private final FgramBloomFilter filter;
    private final int d;
    private final int maxN;
    private final long size;
    private final VectorDtype dtype;
    private final int rowBytes;
    private final int vectorBytes;
    private final int rowsPerChunk;
    // Mapped once for the store's life: the JDK unmaps only on GC, which is safe with concurrent readers.
    private final ByteBuffer[] chunks;
    private final FloatBuffer[] floatChunks; // FLOAT32 only
    private final ChronicleMap<byte[], byte[]> chronicle; // null in HEAP mode
    private final Long2IntOpenHashMap heap; // null in CHRONICLE mode
    private final long indexBytes; // the index file's size at open
    private final ThreadLocal<Scratch> scratch;
    private final StampedLock lock = new StampedLock();
    private final Executor prefetchExecutor;
    private ExecutorService ownExecutor;
    private volatile boolean closed;

    private FgramStore(Path dir, StoreManifest m, FgramBloomFilter filter, ByteBuffer[] chunks,
            ChronicleMap<byte[], byte[]> chronicle, Long2IntOpenHashMap heap, long indexBytes, Executor executor) {
        this.indexBytes = indexBytes;
        this.dir = dir;
        this.vectorFile = dir.resolve(StoreLayout.VECTORS);
        this.indexFile = dir.resolve(StoreLayout.INDEX);
        this.manifest = m;
        this.codec = new FgramKeyCodec(m.tokenVocabularySize(), m.maxN());
        this.filter = filter;
        this.d = m.embeddingSize();
        this.maxN = m.maxN();
        this.size = m.size();
        this.dtype = m.dtype();
        this.rowBytes = StoreLayout.rowBytes(dtype, d);
        this.vectorBytes = dtype.vectorBytes(d);
        this.rowsPerChunk = StoreLayout.rowsPerChunk(rowBytes);
        this.chunks = chunks;
        this.floatChunks = new FloatBuffer[chunks.length];
        if (dtype == VectorDtype.FLOAT32) {
            for (int c = 0; c < chunks.length; c++) {
                floatChunks[c] = chunks[c].asFloatBuffer(); // rows are 4-byte aligned: 4d + 4 bytes
            }
        }
        this.chronicle = chronicle;
        this.heap = heap;
        this.prefetchExecutor = executor;
        this.scratch = ThreadLocal.withInitial(Scratch::new);
    }

    /**
     * Opens a store with {@link OpenOptions#defaults()}.
     *
     * @param dir the store folder
     * @return the open store
     * @throws SconeFormatException when a file is missing, truncated, damaged or foreign
     * @throws IOException when reading fails
     */
    public static FgramStore open(Path dir) throws IOException {
        return open(dir, OpenOptions.defaults());
    }

    /**
     * Opens a store.
     *
     * @param dir the store folder
     * @param options how to open it
     * @return the open store
     * @throws StoreMismatchException when the manifest disagrees with the expectations
     * @throws SconeFormatException when a file is missing, truncated, damaged or foreign (a
     *     vector file whose header names another model or f-gram vocabulary than the manifest)
     * @throws IOException when reading fails
     */
    public static FgramStore open(Path dir, OpenOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        dir = dir.toAbsolutePath().normalize();
        StoreManifest m = StoreManifest.read(dir.resolve(StoreManifest.FILE_NAME));
        options.expectations().check(dir, m);
        if (m.maxN() < FgramVocabulary.MIN_N || m.embeddingSize() < 1 || m.tokenVocabularySize() < 1
                || m.size() > Integer.MAX_VALUE) {
            throw new SconeFormatException(dir.resolve(StoreManifest.FILE_NAME), "implausible manifest " + m);
        }
        FgramKeyCodec codec = new FgramKeyCodec(m.tokenVocabularySize(), m.maxN());
        IndexMode mode = options.indexMode();
        if (mode == IndexMode.HEAP && !codec.packsIntoLong()) {
            throw new IllegalArgumentException("IndexMode.HEAP needs K * " + codec.bitsPerToken()
                    + " bits <= 64, but K = " + m.maxN());
        }
        if (mode == IndexMode.AUTO) {
            boolean fits = m.size() * HEAP_INDEX_BYTES_PER_ENTRY < Runtime.getRuntime().maxMemory() / 4;
            mode = codec.packsIntoLong() && fits ? IndexMode.HEAP : IndexMode.CHRONICLE;
        }
        ByteBuffer[] chunks = mapVectors(dir.resolve(StoreLayout.VECTORS), m);
        FgramBloomFilter filter = FgramBloomFilter.forEntries(m.size());
        Path indexFile = dir.resolve(StoreLayout.INDEX);
        if (!Files.isRegularFile(indexFile)) {
            throw new SconeFormatException(indexFile, "index file is missing");
        }
        // The whole file as written; another process reading the store holds Chronicle's segment
        // locks in it for moments, so a mismatch is checked again below with the lock words as written.
        long crc = options.verifyIndexChecksum() ? StoreLayout.crc32cOf(indexFile) & 0xFFFFFFFFL : m.indexChecksum();
        long indexBytes = Files.size(indexFile);
        ChronicleMap<byte[], byte[]> map;
        try {
            map = StoreLayout.indexBuilder(codec, m.size()).createPersistedTo(indexFile.toFile());
        } catch (IOException | RuntimeException | InternalError e) {
            throw new SconeFormatException(indexFile, "cannot open the index: " + e, e);
        }
        Long2IntOpenHashMap heap = null;
        try {
            if (crc != m.indexChecksum()) {
                long unlocked = unlockedChecksum(indexFile, map);
                if (unlocked != m.indexChecksum()) {
                    throw indexMismatch(indexFile, m.indexChecksum(), unlocked);
                }
            }
            if (map.longSize() != m.size()) {
                throw new SconeFormatException(indexFile, "index holds " + map.longSize() + " entries, the manifest says "
                        + m.size());
            }
            if (mode == IndexMode.HEAP) {
                heap = loadHeapIndex(map, m, codec, filter, indexFile);
                map.close();
                map = null;
            } else {
                fillFilter(map, codec, filter, indexFile);
            }
        } catch (IOException | RuntimeException e) {
            if (map != null) {
                map.close();
            }
            throw e;
        } catch (InternalError e) {
            if (map != null) {
                map.close();
            }
            throw new SconeFormatException(indexFile, "the index could not be read (cut or unreadable while"
                    + " opening): " + e.getMessage(), e);
        }
        LOG.debug("{}: opened {} f-grams, d={}, {}, index {}", dir, m.size(), m.embeddingSize(), m.dtype(), mode);
        return new FgramStore(dir, m, filter, chunks, map, heap, indexBytes, options.prefetchExecutor());
    }

    private static Long2IntOpenHashMap loadHeapIndex(ChronicleMap<byte[], byte[]> map, StoreManifest m,
            FgramKeyCodec codec, FgramBloomFilter filter, Path file) throws SconeFormatException {
        Long2IntOpenHashMap heap = new Long2IntOpenHashMap((int) m.size());
        heap.defaultReturnValue(-1);
        String[] problem = new String[1];
        int[] tokens = new int[m.maxN()];
        map.forEach((k, v) -> {
            if (problem[0] != null) {
                return;
            }
            if (v.length != 4 || k.length > 8) {
                problem[0] = "index entry of " + k.length + "-byte key / " + v.length + "-byte value";
                return;
            }
            long packed = FgramKeyCodec.packedKey(k);
            int n = codec.unpack(packed, tokens);
            if (n < 0) {
                problem[0] = "index key " + Long.toHexString(packed) + ", which is no f-gram of this store";
                return;
            }
            filter.add(FgramVocabulary.hash(tokens, 0, n));
            int row = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getInt();
            heap.put(packed, row);
        });
        if (problem[0] != null) {
            throw new SconeFormatException(file, "malformed " + problem[0]);
        }
        if (heap.size() != m.size()) {
            throw new SconeFormatException(file, "index keys collapse to " + heap.size() + " of " + m.size());
        }
        return heap;
    }

    /** Adds every key of the index to the filter. */
    private static void fillFilter(ChronicleMap<byte[], byte[]> map, FgramKeyCodec codec, FgramBloomFilter filter,
            Path file) throws SconeFormatException {
        String[] problem = new String[1];
        map.forEach((k, v) -> {
            if (problem[0] != null) {
                return;
            }
            int[] tokens = codec.decode(k);
            if (tokens == null) {
                problem[0] = "index holds an invalid key of " + k.length + " bytes";
                return;
            }
            filter.add(FgramVocabulary.hash(tokens, 0, tokens.length));
        });
        if (problem[0] != null) {
            throw new SconeFormatException(file, problem[0]);
        }
    }

    private static ByteBuffer[] mapVectors(Path file, StoreManifest m) throws IOException {
        int rowBytes = StoreLayout.rowBytes(m.dtype(), m.embeddingSize());
        long expected = StoreLayout.HEADER_BYTES + m.size() * rowBytes;
        if (!Files.isRegularFile(file)) {
            throw new SconeFormatException(file, "vector file is missing");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long actual = ch.size();
            if (actual != expected || m.vectorFileBytes() != expected) {
                throw new SconeFormatException(file, (actual < expected ? "truncated" : "wrong size") + ": " + actual
                        + " bytes, expected " + expected + " for " + m.size() + " rows of " + rowBytes + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate(StoreLayout.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                // the header sits at the start of the file: buffer position = file position
            }
            StoreLayout.checkHeader(file, header, m);
            int perChunk = StoreLayout.rowsPerChunk(rowBytes);
            int n = (int) ((m.size() + perChunk - 1) / perChunk);
            ByteBuffer[] chunks = new ByteBuffer[n];
            for (int c = 0; c < n; c++) {
                long first = (long) c * perChunk;
                long rows = Math.min(perChunk, m.size() - first);
                chunks[c] = ch.map(FileChannel.MapMode.READ_ONLY, StoreLayout.HEADER_BYTES + first * rowBytes,
                        rows * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            }
            return chunks;
        }
    }

    /** @return the manifest */
    public StoreManifest manifest() {
        return manifest;
    }

    /** @return E (= d), the length of every vector */
    @Override
    public int embeddingSize() {
        return d;
    }

    /** @return K, the longest f-gram length */
    @Override
    public int maxN() {
        return maxN;
    }

    /** @return S, the number of f-grams */
    @Override
    public long size() {
        return size;
    }

    /** @return the fingerprint of the weights the vectors came from (the manifest's model fingerprint) */
    @Override
    public String fgramModelFingerprint() {
        return manifest().modelFingerprint();
    }

    /** @return how vectors are stored */
    public VectorDtype dtype() {
        return dtype;
    }

    /** @return where the key index lives while open ({@link IndexMode#CHRONICLE} or {@link IndexMode#HEAP}) */
    public IndexMode indexMode() {
        return heap != null ? IndexMode.HEAP : IndexMode.CHRONICLE;
    }

    /** @return the store folder */
    public Path path() {
        return dir;
    }

    /**
     * Whether {@code tokens[from .. from + len)} is an f-gram of this store.
     *
     * @param tokens token ids (each in the token vocabulary)
     * @param from first token
     * @param len length; outside [2, K] is never an f-gram
     * @return its row, or -1
     * @throws IllegalArgumentException for a token id outside the token vocabulary
     */
    public int find(int[] tokens, int from, int len) {
        return lookup(tokens, from, len, null, 0);
    }

    /**
     * Point lookup: writes the vector of f-gram {@code tokens[from .. from + len)} into
     * {@code out[outOffset .. outOffset + E)} when it is an f-gram (leaves {@code out} alone
     * otherwise).
     *
     * @param tokens token ids
     * @param from first token
     * @param len length; outside [2, K] is never an f-gram
     * @param out destination, or {@code null} to only find the row
     * @param outOffset where the vector goes
     * @return the f-gram's row, or -1
     * @throws FgramStoreCorruptedException when the entry is damaged
     */
    public int lookup(int[] tokens, int from, int len, float[] out, int outOffset) {
        Objects.checkFromIndexSize(from, Math.max(0, len), tokens.length);
        if (out != null) {
            Objects.checkFromIndexSize(outOffset, d, out.length);
        }
        codec.checkTokens(tokens, from, len);
        long stamp = acquire();
        try {
            if (len < FgramVocabulary.MIN_N || len > maxN
                    || !filter.mightContain(FgramVocabulary.hash(tokens, from, len))) {
                return -1;
            }
            Scratch s = scratch.get();
            byte[] key = s.keys[len];
            codec.encode(tokens, from, len, key);
            int row = findRow(s, tokens, from, len, key);
            if (row >= 0) {
                readRow(s, row, key, tokens, from, len, out == null ? s.discard : out, out == null ? 0 : outOffset);
            }
            return row;
        } catch (InternalError e) {
            throw faulted(e);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Batch lookup over a (B, T) window of token ids, row-major, each row matched on its own:
     * for every position the longest f-gram ending there that starts at or after its row's start.
     * Matched positions get their f-gram's (E) vector and their f-gram length in
     * {@code matchedLength}; unmatched ones get a zero vector and 0.
     *
     * @param window (B, T) token ids
     * @param batch B
     * @param length T
     * @param out (B, T, E) destination, reused across calls
     * @param matchedLength (B, T) destination: matched f-gram length, 0 = none
     * @return the number of matched positions
     * @throws IllegalArgumentException for wrong sizes or a token id outside the token vocabulary
     * @throws FgramStoreCorruptedException when a matched entry is damaged
     */
    public int lookupBatch(int[] window, int batch, int length, float[] out, int[] matchedLength) {
        return lookupWindow(window, batch, length, out, matchedLength, true);
    }

    /**
     * The {@link FgramEmbeddingTable} lookup: as {@link #lookupBatch}, except that the vectors of
     * unmatched positions are left as they are (not zeroed), as that interface specifies. Serves
     * a SCONE model in table mode; float32 stores return A_fgram's vectors bit for bit.
     *
     * @param tokenIds (B, T) token ids, row-major
     * @param rows B
     * @param length T
     * @param vectors (B, T, E) destination; only matched positions are written
     * @param matchLengths (B, T) destination: matched f-gram length, 0 = none
     * @return the number of matched positions
     * @throws IllegalArgumentException for wrong sizes or a token id outside the token vocabulary
     * @throws IllegalStateException after {@link #close()}
     * @throws FgramStoreCorruptedException when a matched entry is damaged
     */
    @Override
    public int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths) {
        return lookupWindow(tokenIds, rows, length, vectors, matchLengths, false);
    }

    private int lookupWindow(int[] window, int batch, int length, float[] out, int[] matchedLength,
            boolean zeroUnmatched) {
        WindowLookup.checkShape(window, batch, length, d, out, matchedLength);
        codec.checkTokens(window, 0, batch * length);
        long stamp = acquire();
        try {
            return WindowLookup.run(window, batch, length, maxN, d, out, matchedLength, zeroUnmatched,
                    scratch.get().probe);
        } catch (InternalError e) {
            throw faulted(e);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * For incremental decoding: for each row r in {@code [0, rows)}, row r's tokens are
     * {@code tokenIds[offsets[r] .. offsets[r] + lengths[r])} (oldest first, {@code lengths[r] >= 1}); finds
     * the longest f-gram (length 2..K, at most {@code lengths[r]} tokens) that is a suffix of the row, i.e.
     * ends at its last token, writes its vector to {@code vectors[r * E, (r + 1) * E)} and its length to
     * {@code matchLengths[r]}; where none matches {@code matchLengths[r] = 0} and the vector slot is left as
     * it is. Returns the number of matched rows.
     *
     * <p>The same match as the last position of the row in {@link #lookup(int[], int, int, float[], int[])}
     * (never reaching before the row's start), through the Bloom filter and the index, longest
     * first, at most K - 1 probes per row; allocates nothing itself (in {@link IndexMode#CHRONICLE}
     * mode Chronicle Map allocates a little on each query that reaches it); safe from any number
     * of threads.
     * Only the tokens it reads, each row's last {@code min(K, lengths[r])}, are checked against
     * the token vocabulary.
     *
     * @param tokenIds token ids holding every row (rows may lie anywhere in it, even overlap)
     * @param offsets where row r starts in {@code tokenIds}, at least {@code rows} long
     * @param lengths row r's length, at least 1; at least {@code rows} long
     * @param rows the number of rows, at least 0
     * @param vectors (rows, E) destination, row-major; only matched rows are written
     * @param matchLengths (rows) destination: the matched f-gram's length, 0 = none
     * @return the number of matched rows
     * @throws IllegalArgumentException for negative rows, an array too short, a row outside
     *     {@code tokenIds}, a row length below 1, or a token id outside the token vocabulary
     * @throws IllegalStateException after {@link #close()}
     * @throws FgramStoreCorruptedException when a matched entry is damaged
     */
    @Override
    public int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors,
            int[] matchLengths) {
        WindowLookup.checkLast(tokenIds, offsets, lengths, rows, d, vectors, matchLengths);
        for (int r = 0; r < rows; r++) {
            int n = Math.min(maxN, lengths[r]);
            codec.checkTokens(tokenIds, offsets[r] + lengths[r] - n, n);
        }
        long stamp = acquire();
        try {
            return WindowLookup.runLast(tokenIds, offsets, lengths, rows, maxN, d, vectors, matchLengths,
                    scratch.get().probe);
        } catch (InternalError e) {
            throw faulted(e);
        } finally {
            lock.unlockRead(stamp);
        }
    }

    /**
     * Starts a batch lookup of a copy of {@code window} on the prefetch executor, into new buffers.
     *
     * @param window (B, T) token ids (copied: the caller may reuse it at once)
     * @param batch B
     * @param length T
     * @return the result once resolved; completes exceptionally as {@link #lookupBatch} would throw
     */
    public CompletableFuture<LookupResult> prefetch(int[] window, int batch, int length) {
        return prefetch(window, batch, length, new LookupResult(Math.max(1, batch), Math.max(1, length), d));
    }

    /**
     * Starts a batch lookup of a copy of {@code window} on the prefetch executor, into {@code into}
     * (which the caller must not read or reuse until the future completes).
     *
     * @param window (B, T) token ids (copied)
     * @param batch B, equal to {@code into.batch()}
     * @param length T, equal to {@code into.length()}
     * @param into the reused result buffers
     * @return {@code into}, once resolved
     */
    public CompletableFuture<LookupResult> prefetch(int[] window, int batch, int length, LookupResult into) {
        if (into.batch() != batch || into.length() != length || into.embeddingSize() != d) {
            throw new IllegalArgumentException("result buffers (" + into.batch() + ", " + into.length() + ", "
                    + into.embeddingSize() + ") do not match (B, T, E) = (" + batch + ", " + length + ", " + d + ")");
        }
        if ((long) batch * length > window.length) {
            throw new IllegalArgumentException("window of " + window.length + " ids is smaller than B * T = "
                    + (long) batch * length);
        }
        checkNotClosed();
        int[] copy = Arrays.copyOf(window, batch * length);
        return CompletableFuture.supplyAsync(() -> {
            into.setMatchedCount(lookupBatch(copy, batch, length, into.vectors(), into.matchedLength()));
            return into;
        }, executor());
    }

    /**
     * Checks everything: the index file's checksum (its lock words as written), that the index
     * holds S distinct rows, that each f-gram is found by a query for it (in
     * {@link IndexMode#CHRONICLE} mode, through Chronicle's hash lookup, so an entry damaged into
     * being unfindable is caught), and that each row's checksum matches its key and vector. Reads
     * the whole index and vector files.
     *
     * @throws SconeFormatException at the first problem
     */
    public void verify() throws SconeFormatException {
        long stamp = acquire();
        try {
            checkIndexChecksum();
            BitSet seen = new BitSet((int) size);
            Scratch s = scratch.get();
            float[] tmp = new float[d];
            long[] entries = {0};
            SconeFormatException[] problem = new SconeFormatException[1];
            java.util.function.BiConsumer<byte[], Integer> check = (key, row) -> {
                if (problem[0] != null) {
                    return;
                }
                entries[0]++;
                int[] tokens = codec.decode(key);
                if (tokens == null) {
                    problem[0] = new SconeFormatException(indexFile, "index holds an invalid key of " + key.length
                            + " bytes");
                } else if (row < 0 || row >= size || seen.get(row)) {
                    problem[0] = new SconeFormatException(indexFile, "f-gram " + Arrays.toString(tokens)
                            + " points to row " + row + ", which is out of range or taken");
                } else if (chronicle != null && findRow(s, tokens, 0, tokens.length, key) != row) {
                    problem[0] = new SconeFormatException(indexFile, "f-gram " + Arrays.toString(tokens)
                            + " is listed at row " + row + " but a query for it finds row "
                            + findRow(s, tokens, 0, tokens.length, key) + ": the index is damaged");
                } else {
                    seen.set(row);
                    try {
                        readRow(s, row, key, tokens, 0, tokens.length, tmp, 0);
                    } catch (FgramStoreCorruptedException e) {
                        problem[0] = e.getCause();
                    }
                }
            };
            if (chronicle != null) {
                chronicle.forEach((k, v) -> check.accept(k,
                        ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getInt()));
            } else {
                Long2IntMaps.fastForEach(heap, e -> {
                    byte[] key = codec.keyOfPacked(e.getLongKey());
                    check.accept(key == null ? new byte[0] : key, e.getIntValue());
                });
            }
            if (problem[0] != null) {
                throw problem[0];
            }
            if (entries[0] != size) {
                throw new SconeFormatException(indexFile, "index holds " + entries[0] + " entries, expected " + size);
            }
        } catch (InternalError e) {
            throw faulted(e).getCause();
        } finally {
            lock.unlockRead(stamp);
        }
    }

    private void checkIndexChecksum() throws SconeFormatException {
        long crc;
        try {
            crc = chronicle != null ? unlockedChecksum(indexFile, chronicle)
                    : StoreLayout.crc32cOf(indexFile) & 0xFFFFFFFFL;
            if (crc != manifest.indexChecksum() && chronicle == null) {
                // HEAP mode holds no map to ask for the lock words: another process may be inside it
                try (ChronicleMap<byte[], byte[]> map = StoreLayout.indexBuilder(codec, size)
                        .createPersistedTo(indexFile.toFile())) {
                    crc = unlockedChecksum(indexFile, map);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SconeFormatException(indexFile, "cannot read the index: " + e, e);
        }
        if (crc != manifest.indexChecksum()) {
            throw indexMismatch(indexFile, manifest.indexChecksum(), crc);
        }
    }

    /** The index file's CRC32C with the lock words of the open {@code map} as written. */
    private static long unlockedChecksum(Path indexFile, ChronicleMap<?, ?> map) throws IOException {
        return StoreLayout.crc32cOf(indexFile, StoreLayout.lockWordOffsets(map)) & 0xFFFFFFFFL;
    }

    private static SconeFormatException indexMismatch(Path indexFile, long stored, long computed) {
        return new SconeFormatException(indexFile, "index checksum mismatch (stored " + StoreManifest.hex(stored)
                + ", computed " + StoreManifest.hex(computed) + " with Chronicle's lock words as written): the index"
                + " is damaged");
    }

    /**
     * Closes the store: waits for running lookups, then releases the index. Later calls throw
     * {@link IllegalStateException}. Idempotent; throws nothing.
     */
    @Override
    public void close() {
        long stamp = lock.writeLock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (chronicle != null) {
                try {
                    chronicle.close();
                } catch (RuntimeException e) {
                    LOG.warn("{}: closing the index failed", dir, e);
                }
            }
            synchronized (this) {
                if (ownExecutor != null) {
                    ownExecutor.shutdown();
                }
            }
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    @Override
    public String toString() {
        return "FgramStore[" + dir + ", S=" + size + ", d=" + d + ", " + dtype + ", K=" + maxN + "]";
    }

    private long acquire() {
        long stamp = lock.readLock();
        if (closed) {
            lock.unlockRead(stamp);
            throw new IllegalStateException("store " + dir + " is closed");
        }
        return stamp;
    }

    private void checkNotClosed() {
        if (closed) {
            throw new IllegalStateException("store " + dir + " is closed");
        }
    }

    private synchronized Executor executor() {
        if (prefetchExecutor != null) {
            return prefetchExecutor;
        }
        if (ownExecutor == null) {
            ownExecutor = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "scone-store-prefetch");
                t.setDaemon(true);
                return t;
            });
        }
        return ownExecutor;
    }

    private int findRow(Scratch s, int[] tokens, int from, int len, byte[] key) {
        if (heap != null) {
            return heap.get(codec.packedKey(tokens, from, len));
        }
        byte[] v;
        try {
            v = chronicle.getUsing(key, s.value);
        } catch (InternalError e) {
            throw faulted(e);
        }
        if (v == null) {
            return -1;
        }
        return (v[0] & 0xFF) | (v[1] & 0xFF) << 8 | (v[2] & 0xFF) << 16 | (v[3] & 0xFF) << 24;
    }

    private void readRow(Scratch s, int row, byte[] key, int[] tokens, int from, int len, float[] out, int outOffset) {
        if (row < 0 || row >= size) {
            throw corrupted(indexFile, "the index entry of f-gram " + describe(tokens, from, len) + " points to row "
                    + row + ", outside [0, " + size + ")");
        }
        int c = row / rowsPerChunk;
        int off = (row - c * rowsPerChunk) * rowBytes;
        ByteBuffer view = s.views[c];
        view.clear();
        view.position(off);
        s.lastRow = row;
        try {
            // One bulk copy out of the mapping: a page that is gone (the file was cut after open) raises
            // InternalError here, where checksumming the mapping in place would kill the JVM with SIGBUS.
            view.get(s.row, 0, rowBytes);
        } catch (InternalError e) {
            throw faulted(e);
        }
        CRC32C crc = s.crc;
        crc.reset();
        crc.update(key, 0, key.length);
        crc.update(s.row, 0, vectorBytes);
        if ((int) crc.getValue() != s.rowView.getInt(vectorBytes)) {
            throw corrupted(vectorFile, "row " + row + " (f-gram " + describe(tokens, from, len)
                    + ") fails its checksum: the vector or the index entry is damaged");
        }
        if (dtype == VectorDtype.FLOAT32) {
            s.rowFloats.get(0, out, outOffset, d);
        } else {
            dtype.decode(s.rowView, 0, d, out, outOffset);
        }
        s.lastRow = -1;
    }

    /**
     * What a fault in a mapped page becomes: the JDK raises InternalError when a mapped page cannot
     * be read (the file shrank under the mapping, or an I/O error), sometimes a little after the
     * access that faulted. Names the file whose size changed since open and, for the vector file,
     * the row being read.
     */
    private FgramStoreCorruptedException faulted(InternalError e) {
        Scratch s = scratch.get();
        int row = s.lastRow;
        s.lastRow = -1;
        long vectorsNow = sizeOrMinusOne(vectorFile);
        long indexNow = sizeOrMinusOne(indexFile);
        String problem;
        Path file;
        if (vectorsNow != manifest.vectorFileBytes()) {
            file = vectorFile;
            problem = "the file was cut or replaced while the store was open (" + describeSize(vectorsNow) + ", "
                    + manifest.vectorFileBytes() + " at open)" + (row >= 0 ? ": row " + row + " cannot be read" : "");
        } else if (indexNow != indexBytes) {
            file = indexFile;
            problem = "the index was cut or replaced while the store was open (" + describeSize(indexNow) + ", "
                    + indexBytes + " at open)";
        } else {
            file = row >= 0 ? vectorFile : indexFile;
            problem = (row >= 0 ? "row " + row + " " : "a page of the index ") + "cannot be read (I/O error): "
                    + e.getMessage();
        }
        FgramStoreCorruptedException x = corrupted(file, problem);
        x.getCause().addSuppressed(e);
        return x;
    }

    private static long sizeOrMinusOne(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static String describeSize(long bytes) {
        return bytes < 0 ? "now missing" : "now " + bytes + " bytes";
    }

    private static FgramStoreCorruptedException corrupted(Path file, String problem) {
        return new FgramStoreCorruptedException(new SconeFormatException(file, problem));
    }

    private static String describe(int[] tokens, int from, int len) {
        return Arrays.toString(Arrays.copyOfRange(tokens, from, from + len));
    }

    /**
     * Per-thread reusable buffers: keys by length, the value buffer, a CRC and positioned views,
     * and the single-sequence probe the walks use (tokens checked, lock held by the caller).
     */
    private final class Scratch {
        final byte[][] keys = new byte[maxN + 1][];
        final byte[] value = new byte[4];
        final CRC32C crc = new CRC32C();
        final byte[] row = new byte[rowBytes];
        final ByteBuffer rowView = ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN);
        final FloatBuffer rowFloats = rowView.asFloatBuffer();
        final ByteBuffer[] views = new ByteBuffer[chunks.length];
        int lastRow = -1; // the row being copied out of the mapping, for a fault's message
        final float[] discard = new float[d];
        final WindowLookup.Sequence probe = this::probe;

        Scratch() {
            for (int n = FgramVocabulary.MIN_N; n <= maxN; n++) {
                keys[n] = new byte[codec.keyBytes(n)];
            }
            for (int c = 0; c < chunks.length; c++) {
                views[c] = chunks[c].duplicate();
            }
        }

        /** The Bloom filter, then the index; on a hit the checked vector goes to {@code dest}. */
        int probe(int[] tokens, int from, int len, float[] dest, int offset) {
            if (!filter.mightContain(FgramVocabulary.hash(tokens, from, len))) {
                return -1;
            }
            byte[] key = keys[len];
            codec.encode(tokens, from, len, key);
            int row = findRow(this, tokens, from, len, key);
            if (row >= 0) {
                readRow(this, row, key, tokens, from, len, dest, offset);
            }
            return row;
        }
    }
}
