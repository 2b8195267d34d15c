package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An open f-gram store of one folder, read-only (see {@link AbstractFgramStore} for the lookups
 * and what they guarantee).
 *
 * <p>Integrity at {@link #open}: the manifest's checksum, the vector file header's checksum and
 * exact size, that the vector file holds the vectors of the manifest's model and f-gram
 * vocabulary (so a vector file copied in from another store is refused), and (by default) the
 * whole index file's CRC32C. The vector file is mapped read-only.
 *
 * <p>Several processes: any number may open and read one store at once. Reading writes nothing
 * to the vector file, nor to the index (see {@link ChronicleFgramIndex}); the open-time checksum
 * counts the segment lock words of the index as written, so a store that readers of earlier
 * versions hold open (they took Chronicle's read locks there) is never refused.
 */
public final class FgramStore extends AbstractFgramStore {

    private static final Logger LOG = LoggerFactory.getLogger(FgramStore.class);

    /**
     * How to open a store.
     *
     * @param expectations what the manifest must say (see {@link StoreExpectations})
     * @param verifyIndexChecksum whether to check the whole index file's CRC32C at open (reads
     *     the whole file once). The segment lock words that other processes may hold count as
     *     written (zero), so any number of readers may open a store that others are reading
     * @param prefetchExecutor where {@link #prefetch} runs; {@code null}: one daemon thread owned by the store
     */
    public record OpenOptions(StoreExpectations expectations, boolean verifyIndexChecksum, Executor prefetchExecutor) {

        /** Checks the arguments. */
        public OpenOptions {
            Objects.requireNonNull(expectations, "expectations");
        }

        /** @return no expectations, index checksum verified, own prefetch thread */
        public static OpenOptions defaults() {
            return new OpenOptions(StoreExpectations.none(), true, null);
        }

        /** @param value expectations @return a copy with them */
        public OpenOptions withExpectations(StoreExpectations value) {
            return new OpenOptions(value, verifyIndexChecksum, prefetchExecutor);
        }

        /** @param value whether to check the index file at open @return a copy with it */
        public OpenOptions withVerifyIndexChecksum(boolean value) {
            return new OpenOptions(expectations, value, prefetchExecutor);
        }

        /** @param value the prefetch executor (not shut down by the store) @return a copy with it */
        public OpenOptions withPrefetchExecutor(Executor value) {
            return new OpenOptions(expectations, verifyIndexChecksum, value);
        }
    }

    private final StoreManifest manifest;

    private FgramStore(StoreFolder folder, Executor executor) {
        super(folder.dir, new StoreFolder[] {folder}, executor);
        this.manifest = folder.manifest;
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
        StoreFolder folder = StoreFolder.open(dir.toAbsolutePath().normalize(), options);
        LOG.debug("{}: opened {} f-grams, d={}, {}", folder.dir, folder.manifest.size(),
                folder.manifest.embeddingSize(), folder.manifest.dtype());
        return new FgramStore(folder, options.prefetchExecutor());
    }

    /** @return the manifest */
    public StoreManifest manifest() {
        return manifest;
    }

    @Override
    public StoreDescription description() {
        return manifest;
    }

    @Override
    public String toString() {
        return "FgramStore[" + path() + ", S=" + size() + ", d=" + embeddingSize() + ", " + dtype() + ", K=" + maxN()
                + "]";
    }
}
