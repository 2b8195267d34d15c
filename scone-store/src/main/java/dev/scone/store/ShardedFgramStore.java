package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An open sharded f-gram store, read-only: N store folders that together hold every f-gram's
 * precomputed vector, served as one table with the same lookups as a single store (see
 * {@link AbstractFgramStore}). F-gram g is looked up in shard
 * {@link ShardedStoreManifest#shardOf shardOf(g)} only, so a lookup costs what it costs in a
 * single store.
 *
 * <p>Opening checks the {@link ShardedStoreManifest} (checksum, format), the caller's
 * expectations against it, and then every shard: present, its manifest's fingerprint equal to the
 * listed one, its own manifest consistent with the whole (d, dtype, K, vocabularies, model, main
 * model) and its size as listed. Any failure refuses the whole store: {@link SconeFormatException}
 * naming the shard and the problem, or {@link StoreMismatchException} when the store is sound but
 * built for something else. Each shard then checks itself as {@link FgramStore#open} does,
 * including that its vector file holds the vectors of its manifest's model.
 */
public final class ShardedFgramStore extends AbstractFgramStore {

    private final ShardedStoreManifest manifest;

    private ShardedFgramStore(Path dir, ShardedStoreManifest manifest, StoreFolder[] shards,
            FgramStore.OpenOptions options) {
        super(dir, shards, options.prefetchExecutor());
        this.manifest = manifest;
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
        FgramStore.OpenOptions whole = options.withExpectations(StoreExpectations.all(m));
        int count = m.shardCount();
        StoreFolder[] open = new StoreFolder[count];
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
                open[s] = StoreFolder.open(shardDir, whole);
            } catch (StoreMismatchException e) {
                throw new SconeFormatException(shardDir, "shard " + s + " of " + count
                        + " contradicts the sharded manifest: " + e.getMessage(), e);
            }
            long size = open[s].manifest.size();
            if (size != shard.size() || open[s].manifest.tokenVocabularySize() != m.tokenVocabularySize()) {
                throw new SconeFormatException(shardDir, "shard " + s + " of " + count + " holds " + size
                        + " f-grams over " + open[s].manifest.tokenVocabularySize() + " tokens, the sharded"
                        + " manifest lists " + shard.size() + " over " + m.tokenVocabularySize());
            }
            total += size;
        }
        if (total != m.size()) {
            throw new SconeFormatException(root.resolve(ShardedStoreManifest.FILE_NAME), "shards hold " + total
                    + " f-grams together, the manifest says " + m.size());
        }
        return new ShardedFgramStore(root, m, open, options);
    }

    /** @return the sharded manifest */
    public ShardedStoreManifest manifest() {
        return manifest;
    }

    @Override
    public StoreDescription description() {
        return manifest;
    }

    /** @return the number of shards */
    public int shardCount() {
        return shards().length;
    }

    @Override
    public String toString() {
        return "ShardedFgramStore[" + path() + ", " + shardCount() + " shards, S=" + size() + ", d=" + embeddingSize()
                + ", " + dtype() + ", K=" + maxN() + "]";
    }
}
