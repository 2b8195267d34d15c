package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The steps of writing a sharded f-gram store that several processes share (a Spark job writes
 * one shard per task): {@link #prepare} the folder, write each shard with a writer from
 * {@link #shardWriter}, then {@link #publish} the sharded manifest that lists them. In one
 * process, {@link FgramStoreWriter} with {@link FgramStoreWriter.Builder#optShards} takes the same
 * steps.
 *
 * <p>Publishing happens last: until the sharded manifest is written the folder is not a store,
 * and a shard replaced later no longer matches its listed fingerprint, so a half-written or
 * mixed store is never served.
 */
public final class ShardedFgramStoreWriter {

    private ShardedFgramStoreWriter() {}

    /**
     * Removes the sharded manifest of a previous store in {@code dir}, if any, so that the folder
     * is not served while its shards are rewritten.
     *
     * @param dir the sharded store folder
     * @throws IOException when it cannot be removed
     */
    public static void prepare(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(ShardedStoreManifest.FILE_NAME));
    }

    /**
     * How many of a vocabulary's f-grams each shard holds. Given a range of the vocabulary
     * ({@link dev.scone.fgram.vocab.FgramVocabularyFile#readRange}), counts the f-grams of that
     * range: the sizes of the whole are the sums over ranges that cover it, so that a distributed
     * writer sizes its shards without any process reading all of the vocabulary.
     *
     * @param vocabulary the f-gram vocabulary, whole or a range of it
     * @param shards the number of shards, at least 1
     * @return how many of the f-grams it holds fall into each shard
     */
    public static long[] shardSizes(FgramVocabulary vocabulary, int shards) {
        checkShards(shards);
        long[] sizes = new long[shards];
        FgramVocabulary.Cursor c = vocabulary.cursor();
        while (c.next()) {
            sizes[ShardedStoreManifest.shardOf(c.tokens(), 0, c.length(), shards)]++;
        }
        return sizes;
    }

    /**
     * A writer for one shard, set up for its place in the sharded store: its folder, K, the token
     * vocabulary size, its entries and the whole vocabulary's fingerprint. The caller sets the
     * embedding size, dtype and fingerprints, adds exactly the f-grams of that shard by their
     * tokens ({@link FgramStoreWriter#add(int[], int, int, float[], int)}, or with vectors already
     * encoded, {@link FgramStoreWriter#addEncoded}), and commits. The vocabulary is read for its
     * description only: a range of no ids ({@code FgramVocabularyFile.readRange(file, 0, 0)}: the
     * file's header) will do.
     *
     * @param dir the sharded store folder
     * @param shard the shard, in {@code [0, shards)}
     * @param shards the number of shards
     * @param vocabulary the f-gram vocabulary, whole or any range of it
     * @param entries the f-grams of the shard ({@link #shardSizes} over the whole vocabulary)
     * @return the configured builder
     */
    public static FgramStoreWriter.Builder shardWriter(Path dir, int shard, int shards, FgramVocabulary vocabulary,
            long entries) {
        checkShards(shards);
        Objects.checkIndex(shard, shards);
        return FgramStoreWriter.builder().setPath(dir.resolve(ShardedStoreManifest.shardFolder(shard)))
                .optMaxN(vocabulary.maxN()).optTokenVocabularySize(vocabulary.tokenVocabularySize())
                .optExpectedEntries(entries).optFgramVocabularyFingerprint(vocabulary.fingerprint());
    }

    /**
     * Checks that the {@code shards} shard folders in {@code dir} were written for the same store
     * (same d, dtype, K, token vocabulary, f-gram vocabulary, model and main model) and writes the sharded
     * manifest listing them with their fingerprints.
     *
     * @param dir the sharded store folder
     * @param shards the number of shards
     * @return the manifest written
     * @throws SconeFormatException when a shard is missing, damaged, or disagrees with shard 0
     * @throws IOException when reading or writing fails
     */
    public static ShardedStoreManifest publish(Path dir, int shards) throws IOException {
        checkShards(shards);
        List<ShardedStoreManifest.Shard> list = new ArrayList<>();
        StoreManifest first = null;
        long size = 0;
        for (int s = 0; s < shards; s++) {
            Path shardDir = dir.resolve(ShardedStoreManifest.shardFolder(s));
            if (!Files.isDirectory(shardDir)) {
                throw new SconeFormatException(shardDir, "shard " + s + " of " + shards + " is missing");
            }
            StoreManifest m = StoreManifest.read(shardDir.resolve(StoreManifest.FILE_NAME));
            if (first == null) {
                first = m;
            } else {
                try {
                    StoreExpectations.all(first).check(shardDir, m);
                    if (m.tokenVocabularySize() != first.tokenVocabularySize()) {
                        throw new StoreMismatchException(shardDir, "tokenVocabularySize",
                                String.valueOf(first.tokenVocabularySize()), String.valueOf(m.tokenVocabularySize()));
                    }
                } catch (StoreMismatchException e) {
                    throw new SconeFormatException(shardDir, "shard " + s + " says " + e.field() + "=" + e.actual()
                            + " but shard 0 says " + e.expected() + ": the shards come from different stores");
                }
            }
            size += m.size();
            list.add(new ShardedStoreManifest.Shard(ShardedStoreManifest.shardFolder(s), m.size(),
                    ShardedStoreManifest.fingerprintOf(shardDir)));
        }
        ShardedStoreManifest manifest = new ShardedStoreManifest(ShardedStoreManifest.FORMAT_VERSION,
                first.embeddingSize(), first.dtype(), first.maxN(), size, first.tokenVocabularySize(),
                first.tokenVocabularyFingerprint(), first.fgramVocabularyFingerprint(), first.modelFingerprint(),
                first.mainModelFingerprint(), list);
        manifest.write(dir.resolve(ShardedStoreManifest.FILE_NAME));
        return manifest;
    }

    private static void checkShards(int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1, got " + shards);
        }
    }
}
