package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lock-free reader of the Chronicle Map index against Chronicle's own layout. */
class ChronicleFgramIndexTest {

    @TempDir
    Path tmp;

    /**
     * An index sized for fewer entries than it holds: Chronicle chains extra tiers to its
     * segments, and the reader follows them (a store written with the right size rarely has any).
     */
    @Test
    void segmentsWithExtraTiersAreReadThrough() throws Exception {
        for (int tokens : new int[] {StoreFixtures.TOKENS, 1 << 20}) { // 8-byte keys, then variable-size keys
            int s = 1500;
            FgramVocabulary vocab = StoreFixtures.vocabulary(s, tokens);
            float[] vectors = StoreFixtures.vectors(s, 5);
            FgramVocabulary wide = tokens == StoreFixtures.TOKENS ? vocab
                    : FgramVocabulary.of(tokens, vocab.maxN(), java.util.stream.IntStream.range(0, s)
                            .mapToObj(id -> widen(vocab.tokens(id), tokens)).toList(), new long[s]);
            FgramKeyCodec codec = new FgramKeyCodec(tokens, wide.maxN());
            Path dir = tmp.resolve("tiers-" + tokens);
            StoreFolderWriter.Settings settings = new StoreFolderWriter.Settings(StoreFixtures.D, VectorDtype.FLOAT32,
                    codec, "tok", wide.fingerprint(), "model", StoreManifest.UNSPECIFIED);
            try (StoreFolderWriter w = new StoreFolderWriter(dir, settings, s, s / 2)) {
                for (int id = 0; id < s; id++) {
                    byte[] key = new byte[codec.keyBytes(wide.length(id))];
                    codec.encode(wide.tokens(id), 0, wide.length(id), key);
                    assertTrue(w.add(key, vectors, id * StoreFixtures.D));
                }
                w.commit();
            }
            try (FgramStore store = FgramStore.open(dir)) {
                assertTrue(store.shards()[0].index.extraTiers() > 0, "the index chains extra tiers");
                float[] out = new float[StoreFixtures.D];
                for (int id = 0; id < s; id++) {
                    int[] g = wide.tokens(id);
                    assertEquals(id, store.lookup(g, 0, g.length, out, 0));
                    assertArrayEquals(Arrays.copyOfRange(vectors, id * StoreFixtures.D, (id + 1) * StoreFixtures.D),
                            out);
                }
                Random r = new Random(3);
                for (int i = 0; i < 5000; i++) {
                    int[] q = new int[2 + r.nextInt(wide.maxN() - 1)];
                    for (int k = 0; k < q.length; k++) {
                        q[k] = r.nextInt(50);
                    }
                    assertEquals(wide.find(q), store.find(q, 0, q.length), Arrays.toString(q));
                }
                store.verify();
            }
        }
    }

    private static int[] widen(int[] g, int tokens) {
        int[] w = g.clone();
        w[0] = tokens - 1 - w[0]; // a large first digit: K digits take more than 64 bits
        return w;
    }
}
