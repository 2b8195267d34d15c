package dev.scone.store;

import dev.scone.core.FgramEmbeddingTable;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An open sharded f-gram store, read-only: N {@link FgramStore} shards that together hold every
 * f-gram's precomputed vector, served as one table. F-gram g is looked up in shard
 * {@link ShardedStoreManifest#shardOf shardOf(g)} only, so a lookup costs what it costs in a
 * single store. Lookups are safe from any number of threads.
 *
 * <p>Opening checks the {@link ShardedStoreManifest} (checksum, format), the caller's
 * expectations against it, and then every shard: present, its manifest's fingerprint equal to the
 * listed one, its own manifest consistent with the whole (d, dtype, K, vocabularies, model, main
 * model) and its size as listed. Any failure refuses the whole store: {@link SconeFormatException}
 * naming the shard and the problem, or {@link StoreMismatchException} when the store is sound but
 * built for something else. Each shard then checks itself as {@link FgramStore#open} does,
 * including that its vector file holds the vectors of its manifest's model.
 *
 * <p>Lookups: point, batch over a (B, T) window, and {@link #lookupLast} for incremental decoding.
 */
public final class ShardedFgramStore implements FgramEmbeddingTable {

    private final Path dir;
    private final ShardedStoreManifest manifest;
    private final FgramStore[] shards;
    private final int d;
    private final int maxN;
    private final FgramKeyCodec codec;
    /** The single-sequence probe of the walks: the f-gram's own shard only. */
    private final WindowLookup.Sequence probe;
    private volatile boolean closed;

    private ShardedFgramStore(Path dir, ShardedStoreManifest manifest, FgramStore[] shards) {
        this.dir = dir;
        this.manifest = manifest;
        this.shards = shards;
        this.d = manifest.embeddingSize();
        this.maxN = manifest.maxN();
        this.codec = new FgramKeyCodec(manifest.tokenVocabularySize(), maxN);
        this.probe = (tokens, from, len, dest, offset) -> shards[ShardedStoreManifest.shardOf(tokens, from, len,
                shards.length)].lookup(tokens, from, len, dest, offset);
    }

    /**
     * Opens a sharded store with {@link FgramStore.OpenOptions#defaults()}.
     *
     * @param dir the sharded store folder
     * @return the open store
     * @throws SconeFormatException when the manifest or a shard is missing, damaged, foreign or mismatched
     * @throws IOException when reading fails
     */
    public static ShardedFgramStore open(Path dir) throws IOException {
        return open(dir, FgramStore.OpenOptions.defaults());
    }

    /**
     * Opens a sharded store.
     *
     * @param dir the sharded store folder
     * @param options how to open each shard; its expectations are checked against the whole store
     * @return the open store
     * @throws StoreMismatchException when the store disagrees with the expectations
     * @throws SconeFormatException when the manifest or a shard is missing, damaged, foreign or
     *     does not match the manifest; the message names the shard
     * @throws IOException when reading fails
     */
    public static ShardedFgramStore open(Path dir, FgramStore.OpenOptions options) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(options, "options");
        Path root = dir.toAbsolutePath().normalize();
        ShardedStoreManifest m = ShardedStoreManifest.read(root.resolve(ShardedStoreManifest.FILE_NAME));
        options.expectations().check(root, m);
        StoreExpectations whole = StoreExpectations.all(m);
        int count = m.shardCount();
        FgramStore[] open = new FgramStore[count];
        boolean ok = false;
        try {
            long total = 0;
            for (int s = 0; s < count; s++) {
                ShardedStoreManifest.Shard shard = m.shards().get(s);
                Path shardDir = root.resolve(shard.folder());
                if (!Files.isDirectory(shardDir)) {
                    throw new SconeFormatException(shardDir, "shard " + s + " of " + count + " (" + shard.folder()
                            + ") is missing");
                }
                String fp = ShardedStoreManifest.fingerprintOf(shardDir);
                if (!fp.equals(shard.fingerprint())) {
                    throw new SconeFormatException(shardDir, "shard " + s + " of " + count + " has fingerprint " + fp
                            + " but the sharded manifest lists " + shard.fingerprint()
                            + ": the shard was rewritten or comes from another store");
                }
                try {
                    open[s] = FgramStore.open(shardDir, options.withExpectations(whole));
                } catch (StoreMismatchException e) {
                    throw new SconeFormatException(shardDir, "shard " + s + " of " + count
                            + " contradicts the sharded manifest: " + e.getMessage(), e);
                }
                if (open[s].size() != shard.size()) {
                    throw new SconeFormatException(shardDir, "shard " + s + " of " + count + " holds "
                            + open[s].size() + " f-grams, the sharded manifest lists " + shard.size());
                }
                total += shard.size();
            }
            if (total != m.size()) {
                throw new SconeFormatException(root.resolve(ShardedStoreManifest.FILE_NAME), "shards hold " + total
                        + " f-grams together, the manifest says " + m.size());
            }
            ok = true;
            return new ShardedFgramStore(root, m, open);
        } finally {
            if (!ok) {
                for (FgramStore s : open) {
                    if (s != null) {
                        s.close();
                    }
                }
            }
        }
    }

    /** @return the sharded manifest */
    public ShardedStoreManifest manifest() {
        return manifest;
    }

    /** @return the number of shards */
    public int shardCount() {
        return shards.length;
    }

    /** @return the sharded store folder */
    public Path path() {
        return dir;
    }

    @Override
    public int embeddingSize() {
        return d;
    }

    @Override
    public int maxN() {
        return maxN;
    }

    @Override
    public long size() {
        return manifest.size();
    }

    /** @return the fingerprint of the weights the vectors came from (the manifest's model fingerprint) */
    @Override
    public String fgramModelFingerprint() {
        return manifest().modelFingerprint();
    }

    /** @return how vectors are stored */
    public VectorDtype dtype() {
        return manifest.dtype();
    }

    /**
     * Point lookup: writes the vector of f-gram {@code tokens[from .. from + len)} into
     * {@code out[outOffset .. outOffset + E)} when it is an f-gram.
     *
     * @param tokens token ids
     * @param from first token
     * @param len length; outside [2, K] is never an f-gram
     * @param out destination, or {@code null} to only ask whether it is an f-gram
     * @param outOffset where the vector goes
     * @return whether it is an f-gram of the store
     * @throws IllegalArgumentException for a token id outside the token vocabulary
     * @throws FgramStoreCorruptedException when the entry is damaged
     */
    public boolean lookup(int[] tokens, int from, int len, float[] out, int outOffset) {
        checkNotClosed();
        Objects.checkFromIndexSize(from, Math.max(0, len), tokens.length);
        if (len < FgramVocabulary.MIN_N || len > maxN) {
            return false;
        }
        return shards[ShardedStoreManifest.shardOf(tokens, from, len, shards.length)].lookup(tokens, from, len, out,
                outOffset) >= 0;
    }

    /**
     * Batch lookup over a (B, T) window, as {@link FgramStore#lookupBatch}: unmatched positions
     * get a zero vector and length 0.
     *
     * @param window (B, T) token ids
     * @param batch B
     * @param length T
     * @param out (B, T, E) destination
     * @param matchedLength (B, T) destination
     * @return the number of matched positions
     */
    public int lookupBatch(int[] window, int batch, int length, float[] out, int[] matchedLength) {
        return lookupWindow(window, batch, length, out, matchedLength, true);
    }

    /**
     * The {@link FgramEmbeddingTable} lookup: as {@link #lookupBatch}, except that unmatched
     * positions' vectors are left as they are.
     */
    @Override
    public int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths) {
        return lookupWindow(tokenIds, rows, length, vectors, matchLengths, false);
    }

    private int lookupWindow(int[] window, int batch, int length, float[] out, int[] matchedLength,
            boolean zeroUnmatched) {
        checkNotClosed();
        WindowLookup.checkShape(window, batch, length, d, out, matchedLength);
        return WindowLookup.run(window, batch, length, maxN, d, out, matchedLength, zeroUnmatched, probe);
    }

    /**
     * For incremental decoding: for each row r in {@code [0, rows)}, row r's tokens are
     * {@code tokenIds[offsets[r] .. offsets[r] + lengths[r])} (oldest first, {@code lengths[r] >= 1}); finds
     * the longest f-gram (length 2..K, at most {@code lengths[r]} tokens) that is a suffix of the row, i.e.
     * ends at its last token, writes its vector to {@code vectors[r * E, (r + 1) * E)} and its length to
     * {@code matchLengths[r]}; where none matches {@code matchLengths[r] = 0} and the vector slot is left as
     * it is. Returns the number of matched rows.
     *
     * <p>As {@link FgramStore#lookupLast}: the same match as the row's last position in
     * {@link #lookup(int[], int, int, float[], int[])}, each candidate probed in its own shard only,
     * longest first, at most K - 1 probes per row; allocates nothing itself (as there); safe from
     * any number of threads.
     *
     * @param tokenIds token ids holding every row
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
        checkNotClosed();
        return WindowLookup.runLast(tokenIds, offsets, lengths, rows, maxN, d, vectors, matchLengths, probe);
    }

    /**
     * Checks every entry of every shard ({@link FgramStore#verify()}).
     *
     * @throws SconeFormatException at the first problem
     */
    public void verify() throws SconeFormatException {
        checkNotClosed();
        for (FgramStore s : shards) {
            s.verify();
        }
    }

    /** Closes every shard. Idempotent; throws nothing. */
    @Override
    public void close() {
        closed = true;
        for (FgramStore s : shards) {
            s.close();
        }
    }

    private void checkNotClosed() {
        if (closed) {
            throw new IllegalStateException("store " + dir + " is closed");
        }
    }

    @Override
    public String toString() {
        return "ShardedFgramStore[" + dir + ", " + shards.length + " shards, S=" + size() + ", d=" + d + ", "
                + manifest.dtype() + ", K=" + maxN + "]";
    }
}
