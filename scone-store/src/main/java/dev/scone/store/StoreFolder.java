package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;

/**
 * One store folder, opened and validated: its manifest read and checked against the caller's
 * expectations, its vector file ({@link VectorFile}) and key index ({@link ChronicleFgramIndex})
 * opened and checked against the manifest and each other, and the Bloom filter over its keys
 * rebuilt. A single store is one folder; a sharded store is one per shard. Immutable once open;
 * it holds memory mappings only, which the garbage collector releases.
 */
final class StoreFolder {

    final Path dir;
    final StoreManifest manifest;
    final FgramKeyCodec codec;
    final FgramBloomFilter filter;
    final VectorFile vectors;
    final ChronicleFgramIndex index;

    private StoreFolder(Path dir, StoreManifest manifest, FgramKeyCodec codec, FgramBloomFilter filter,
            VectorFile vectors, ChronicleFgramIndex index) {
        this.dir = dir;
        this.manifest = manifest;
        this.codec = codec;
        this.filter = filter;
        this.vectors = vectors;
        this.index = index;
    }

    /**
     * Opens and checks a store folder.
     *
     * @param dir the folder (absolute, normalised)
     * @param options its expectations and whether to check the whole index file's CRC32C
     * @return the open folder
     * @throws StoreMismatchException when the manifest disagrees with the expectations
     * @throws SconeFormatException when a file is missing, truncated, damaged or foreign
     * @throws IOException when reading fails
     */
    static StoreFolder open(Path dir, FgramStore.OpenOptions options) throws IOException {
        StoreManifest m = StoreManifest.read(dir.resolve(StoreManifest.FILE_NAME));
        options.expectations().check(dir, m);
        if (m.maxN() < FgramVocabulary.MIN_N || m.embeddingSize() < 1 || m.tokenVocabularySize() < 1
                || m.size() > Integer.MAX_VALUE) {
            throw new SconeFormatException(dir.resolve(StoreManifest.FILE_NAME), "implausible manifest " + m);
        }
        FgramKeyCodec codec = new FgramKeyCodec(m.tokenVocabularySize(), m.maxN());
        VectorFile vectors = VectorFile.open(dir.resolve(StoreLayout.VECTORS), m);
        FgramBloomFilter filter = FgramBloomFilter.forEntries(m.size());
        ChronicleFgramIndex index = ChronicleFgramIndex.open(dir.resolve(StoreLayout.INDEX), m, codec,
                options.verifyIndexChecksum(), filter);
        return new StoreFolder(dir, m, codec, filter, vectors, index);
    }

    /**
     * Checks everything: the index file's checksum (its lock words as written), that the index
     * holds S distinct rows, that a query for each f-gram finds its row (so an entry damaged into
     * being unfindable is caught), and that each row's checksum matches its key and vector.
     *
     * @param cursor the calling thread's buffers for reading rows
     * @throws SconeFormatException at the first problem
     */
    void verify(VectorFile.Cursor cursor) throws SconeFormatException {
        index.checkChecksum();
        long size = manifest.size();
        BitSet seen = new BitSet((int) size);
        float[] tmp = new float[manifest.embeddingSize()];
        long[] entries = {0};
        SconeFormatException[] problem = new SconeFormatException[1];
        Path indexFile = index.file();
        index.forEach((key, row) -> {
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
            } else {
                try {
                    int found = index.find(key);
                    if (found != row) {
                        problem[0] = new SconeFormatException(indexFile, "f-gram " + Arrays.toString(tokens)
                                + " is listed at row " + row + " but a query for it finds row " + found
                                + ": the index is damaged");
                        return;
                    }
                    seen.set(row);
                    vectors.read(cursor, row, key, tokens, 0, tokens.length, tmp, 0);
                } catch (FgramStoreCorruptedException e) {
                    problem[0] = e.getCause();
                }
            }
        });
        if (problem[0] != null) {
            throw problem[0];
        }
        if (entries[0] != size) {
            throw new SconeFormatException(indexFile, "index holds " + entries[0] + " entries, expected " + size);
        }
    }

    /**
     * @return how {@code file} changed since it was opened at {@code bytesAtOpen} bytes (cut or
     *     replaced), or {@code null}
     */
    static String changeSince(Path file, long bytesAtOpen) {
        long now;
        try {
            now = Files.size(file);
        } catch (IOException e) {
            now = -1;
        }
        if (now == bytesAtOpen) {
            return null;
        }
        return (now < 0 ? "now missing" : "now " + now + " bytes") + ", " + bytesAtOpen + " at open";
    }

    static FgramStoreCorruptedException corrupted(Path file, String problem) {
        return new FgramStoreCorruptedException(new SconeFormatException(file, problem));
    }
}
