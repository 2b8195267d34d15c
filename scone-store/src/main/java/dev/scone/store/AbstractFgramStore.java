package dev.scone.store;

import dev.scone.core.FgramEmbeddingTable;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An open f-gram store, read-only, of one folder ({@link FgramStore}) or several shards
 * ({@link ShardedFgramStore}): the precomputed vectors F of every f-gram, keyed by the exact
 * f-gram token sequence, so the store alone answers "is this an f-gram?" with no false match.
 * The lookups are the same for both layouts; f-gram g lives in shard
 * {@link ShardedStoreManifest#shardOf shardOf(g)} (a single store is its own only shard).
 *
 * <p>Lookups: a point lookup (tokens to row and vector) and a batch lookup over a (B, T) window
 * of token ids that finds, for every position, the longest f-gram ending there (never reaching
 * before its row's start, longest first, at most K - 1 probes) and writes its (E) vector into a
 * caller's reusable (B, T, E) array, allocating nothing per token. {@link #lookupLast} finds, for
 * incremental decoding, only the longest f-gram ending at the last token of each of several rows.
 * {@link #prefetch} runs a batch lookup on an executor so the next batch resolves while the
 * current one runs. Lookups are safe from any number of threads.
 *
 * <p>Each probe asks the shard's Bloom filter (rebuilt in memory at open, about 1.5 bytes of heap
 * per f-gram), then reads the shard's Chronicle Map index lock-free
 * ({@link ChronicleFgramIndex}), then copies the row out of the memory-mapped vector file and
 * checks its CRC32C, which covers the f-gram's key too: a damaged vector or index entry throws
 * {@link FgramStoreCorruptedException} instead of returning a wrong vector. A file cut or replaced
 * while the store is open is a {@link FgramStoreCorruptedException} naming the file (and, for a
 * vector file, the row), never a JVM crash. {@link #verify()} checks every entry.
 *
 * <p>Vectors decode exactly for {@link VectorDtype#FLOAT32} and within the bounds documented on
 * {@link VectorDtype} otherwise. A store is an {@link FgramEmbeddingTable}: a
 * {@link dev.scone.core.TableEmbeddingBlock} over the trained token embedding serves a SCONE
 * model's input embedding from it (see {@link #lookup(int[], int, int, float[], int[])}).
 */
public abstract sealed class AbstractFgramStore implements FgramEmbeddingTable permits FgramStore, ShardedFgramStore {

    private final Path dir;
    private final StoreFolder[] shards;
    private final FgramKeyCodec codec;
    private final int d;
    private final int maxN;
    private final long size;
    private final VectorDtype dtype;
    private final ThreadLocal<Scratch> scratch;
    private final Executor prefetchExecutor;
    private ExecutorService ownExecutor;
    private volatile boolean closed;

    AbstractFgramStore(Path dir, StoreFolder[] shards, Executor prefetchExecutor) {
        this.dir = dir;
        this.shards = shards;
        StoreManifest first = shards[0].manifest;
        this.codec = shards[0].codec;
        this.d = first.embeddingSize();
        this.maxN = first.maxN();
        this.dtype = first.dtype();
        long total = 0;
        for (StoreFolder s : shards) {
            total += s.manifest.size();
        }
        this.size = total;
        this.prefetchExecutor = prefetchExecutor;
        FgramKeyCodec c = codec;
        int e = d;
        VectorFile rows = shards[0].vectors; // every shard has the same row size
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(c, e, rows.cursor()));
    }

    /** @return what the store's manifest says about it */
    public abstract StoreDescription description();

    /** @return E (= d), the length of every vector */
    @Override
    public final int embeddingSize() {
        return d;
    }

    /** @return K, the longest f-gram length */
    @Override
    public final int maxN() {
        return maxN;
    }

    /** @return S, the number of f-grams */
    @Override
    public final long size() {
        return size;
    }

    /** @return the fingerprint of the weights the vectors came from (the manifest's model fingerprint) */
    @Override
    public final String fgramModelFingerprint() {
        return description().modelFingerprint();
    }

    /** @return how vectors are stored */
    public final VectorDtype dtype() {
        return dtype;
    }

    /** @return the store folder */
    public final Path path() {
        return dir;
    }

    /** @return the shards' folders, shard i at index i (one for a single store) */
    final StoreFolder[] shards() {
        return shards;
    }

    /**
     * Whether {@code tokens[from .. from + len)} is an f-gram of this store.
     *
     * @param tokens token ids (each in the token vocabulary)
     * @param from first token
     * @param len length; outside [2, K] is never an f-gram
     * @return its row in its shard, or -1
     * @throws IllegalArgumentException for a token id outside the token vocabulary
     */
    public final int find(int[] tokens, int from, int len) {
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
     * @return the f-gram's row in its shard, or -1
     * @throws IllegalArgumentException for a token id outside the token vocabulary
     * @throws IllegalStateException after {@link #close()}
     * @throws FgramStoreCorruptedException when the entry is damaged
     */
    public final int lookup(int[] tokens, int from, int len, float[] out, int outOffset) {
        Objects.checkFromIndexSize(from, Math.max(0, len), tokens.length);
        if (out != null) {
            Objects.checkFromIndexSize(outOffset, d, out.length);
        }
        codec.checkTokens(tokens, from, len);
        checkNotClosed();
        Scratch s = scratch();
        try {
            if (len < FgramVocabulary.MIN_N || len > maxN) {
                return -1;
            }
            return s.lookup(tokens, from, len, out == null ? s.discard : out, out == null ? 0 : outOffset);
        } catch (InternalError e) {
            throw faulted(s, e);
        } finally {
            s.owner = null;
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
     * @throws IllegalStateException after {@link #close()}
     * @throws FgramStoreCorruptedException when a matched entry is damaged
     */
    public final int lookupBatch(int[] window, int batch, int length, float[] out, int[] matchedLength) {
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
    public final int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths) {
        return lookupWindow(tokenIds, rows, length, vectors, matchLengths, false);
    }

    private int lookupWindow(int[] window, int batch, int length, float[] out, int[] matchedLength,
            boolean zeroUnmatched) {
        WindowLookup.checkShape(window, batch, length, d, out, matchedLength);
        codec.checkTokens(window, 0, batch * length);
        checkNotClosed();
        Scratch s = scratch();
        try {
            return WindowLookup.run(window, batch, length, maxN, d, out, matchedLength, zeroUnmatched, s);
        } catch (InternalError e) {
            throw faulted(s, e);
        } finally {
            s.owner = null;
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
     * (never reaching before the row's start), longest first, at most K - 1 probes per row;
     * allocates nothing; safe from any number of threads. Only the tokens it reads, each row's
     * last {@code min(K, lengths[r])}, are checked against the token vocabulary.
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
    public final int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors,
            int[] matchLengths) {
        WindowLookup.checkLast(tokenIds, offsets, lengths, rows, d, vectors, matchLengths);
        for (int r = 0; r < rows; r++) {
            int n = Math.min(maxN, lengths[r]);
            codec.checkTokens(tokenIds, offsets[r] + lengths[r] - n, n);
        }
        checkNotClosed();
        Scratch s = scratch();
        try {
            return WindowLookup.runLast(tokenIds, offsets, lengths, rows, maxN, d, vectors, matchLengths, s);
        } catch (InternalError e) {
            throw faulted(s, e);
        } finally {
            s.owner = null;
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
    public final CompletableFuture<LookupResult> prefetch(int[] window, int batch, int length) {
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
    public final CompletableFuture<LookupResult> prefetch(int[] window, int batch, int length, LookupResult into) {
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
     * Checks everything, shard by shard: each index file's checksum (its lock words as written),
     * that each index holds its shard's S distinct rows, that each f-gram Chronicle Map lists is
     * found by a query for it (so an entry damaged into being unfindable is caught), and that each
     * row's checksum matches its key and vector. Reads every index and vector file.
     *
     * @throws SconeFormatException at the first problem
     */
    public final void verify() throws SconeFormatException {
        checkNotClosed();
        Scratch s = scratch();
        try {
            for (StoreFolder shard : shards) {
                shard.verify(s.cursor);
            }
        } catch (InternalError e) {
            throw faulted(s, e).getCause();
        } finally {
            s.owner = null;
        }
    }

    /**
     * Closes the store: later calls throw {@link IllegalStateException}; lookups already running
     * finish normally (the store holds memory mappings only, which the garbage collector releases
     * once the store is unreachable). Idempotent; throws nothing.
     */
    @Override
    public final void close() {
        closed = true;
        scratch.remove();
        synchronized (this) {
            if (ownExecutor != null) {
                ownExecutor.shutdown();
            }
        }
    }

    /** @return the calling thread's buffers, bound to this store for the call */
    private Scratch scratch() {
        Scratch s = scratch.get();
        s.owner = this;
        return s;
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

    /**
     * What a fault in a mapped page becomes: the JDK raises InternalError when a mapped page cannot
     * be read (the file shrank under the mapping, or an I/O error), sometimes a little after the
     * access that faulted. Names the file whose size changed since open and, for a vector file,
     * the row being read.
     */
    private FgramStoreCorruptedException faulted(Scratch s, InternalError e) {
        int row = s.lastRow;
        StoreFolder at = s.lastShard < 0 ? null : shards[s.lastShard];
        s.lastRow = -1;
        s.lastShard = -1;
        Path file = null;
        String problem = null;
        for (StoreFolder shard : at != null ? new StoreFolder[] {at} : shards) {
            String vectors = shard.vectors.changeSinceOpen();
            String index = shard.index.changeSinceOpen();
            if (vectors != null) {
                file = shard.vectors.file();
                problem = "the file was cut or replaced while the store was open (" + vectors + ")"
                        + (row >= 0 ? ": row " + row + " cannot be read" : "");
                break;
            }
            if (index != null) {
                file = shard.index.file();
                problem = "the index was cut or replaced while the store was open (" + index + ")";
                break;
            }
        }
        if (file == null) {
            StoreFolder shard = at != null ? at : shards[0];
            file = row >= 0 ? shard.vectors.file() : shard.index.file();
            problem = (row >= 0 ? "row " + row + " " : "a page of the index ") + "cannot be read (I/O error): "
                    + e.getMessage();
        }
        FgramStoreCorruptedException x = StoreFolder.corrupted(file, problem);
        x.getCause().addSuppressed(e);
        return x;
    }

    /**
     * The single-sequence probe of the walks (tokens checked by the caller): the shard's Bloom
     * filter, then its index; on a hit the checked vector goes to {@code dest}.
     */
    private int probe(Scratch s, int[] tokens, int from, int len, float[] dest, int offset) {
        long hash = FgramVocabulary.hash(tokens, from, len);
        int i = shards.length == 1 ? 0 : ShardedStoreManifest.shardOf(hash, shards.length);
        StoreFolder shard = shards[i];
        if (!shard.filter.mightContain(hash)) {
            return -1;
        }
        byte[] key = s.keys[len];
        codec.encode(tokens, from, len, key);
        s.lastShard = i;
        int row = shard.index.find(key);
        if (row >= 0) {
            if (row >= shard.vectors.rows()) {
                throw StoreFolder.corrupted(shard.index.file(), "the index entry of f-gram "
                        + Arrays.toString(Arrays.copyOfRange(tokens, from, from + len)) + " points to row " + row
                        + ", outside [0, " + shard.vectors.rows() + ")");
            }
            s.lastRow = row;
            shard.vectors.read(s.cursor, row, key, tokens, from, len, dest, offset);
            s.lastRow = -1;
        }
        s.lastShard = -1;
        return row;
    }

    /**
     * Per-thread reusable buffers: keys by length, the buffers for reading rows, and the store
     * being called, only for the time of the call: between calls they reference nothing of the
     * store, so a store that is no longer used is collected (and its files unmapped) even while
     * threads that used it live on.
     */
    private static final class Scratch implements WindowLookup.Sequence {
        final byte[][] keys;
        final VectorFile.Cursor cursor;
        final float[] discard;
        AbstractFgramStore owner; // the store of the current call, null between calls
        int lastShard = -1; // the shard and row being read, for a fault's message
        int lastRow = -1;

        Scratch(FgramKeyCodec codec, int d, VectorFile.Cursor cursor) {
            keys = new byte[codec.maxN() + 1][];
            for (int n = FgramVocabulary.MIN_N; n <= codec.maxN(); n++) {
                keys[n] = new byte[codec.keyBytes(n)];
            }
            this.cursor = cursor;
            this.discard = new float[d];
        }

        @Override
        public int lookup(int[] tokens, int from, int len, float[] out, int outOffset) {
            return owner.probe(this, tokens, from, len, out, outOffset);
        }
    }
}
