package dev.scone.spark.precompute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.spark.LocalSpark;
import dev.scone.store.FgramStore;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreManifest;
import dev.scone.store.StoreMismatchException;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkStorePrecomputeTest {

    @TempDir
    Path tmp;

    @TempDir
    static Path shared;

    /** One trained fixture for the class: training it is most of a test's time. */
    private static PrecomputeFixture fixture;

    @BeforeAll
    static void trainOnce() throws IOException {
        fixture = PrecomputeFixture.create(shared);
    }

    @Test
    void shardedStoreServesExactlyTheSingleStoresVectors() throws IOException {
        PrecomputeFixture f = fixture;
        Path sharded = tmp.resolve("sharded");
        ShardedStoreManifest m = new SparkStorePrecompute(LocalSpark.get(),
                new SparkStorePrecompute.Settings(3, 2, f.batch(), VectorDtype.FLOAT32, PrecomputeFixture.TOKENS_FP,
                        "main-under-test"))
                .run(f.vocabularyFile().toString(), new CheckpointModelSource(f.checkpoint().toString(),
                        LocalSpark.get().hadoopConfiguration()), sharded.toUri().toString());
        assertEquals(3, m.shardCount());
        assertEquals(f.vocabulary().size(), m.size());
        assertEquals(f.modelFingerprint(), m.modelFingerprint());
        assertEquals("main-under-test", m.mainModelFingerprint());
        f.assertSameVectors(sharded, "main-under-test");
        StoreMismatchException e = assertThrows(StoreMismatchException.class, () -> ShardedFgramStore.open(sharded,
                FgramStore.OpenOptions.defaults().withExpectations(dev.scone.store.StoreExpectations.none()
                        .withModelFingerprint("another-model"))));
        assertEquals("modelFingerprint", e.field());
    }

    @Test
    void rowsTravelInTheStoresDtype() throws IOException {
        PrecomputeFixture f = fixture;
        Path sharded = tmp.resolve("sharded-bf16");
        ShardedStoreManifest m = new SparkStorePrecompute(LocalSpark.get(),
                new SparkStorePrecompute.Settings(2, 4, f.batch(), VectorDtype.BFLOAT16, PrecomputeFixture.TOKENS_FP))
                .run(f.vocabularyFile().toString(), new CheckpointModelSource(f.checkpoint().toString(),
                        LocalSpark.get().hadoopConfiguration()), sharded.toUri().toString());
        assertEquals(VectorDtype.BFLOAT16, m.dtype());
        // the single store's float32 vectors, rounded to bfloat16 as the writer rounds them
        try (FgramStore one = FgramStore.open(f.singleStore()); ShardedFgramStore many = ShardedFgramStore.open(sharded,
                FgramStore.OpenOptions.defaults().withExpectations(f.expectations(StoreManifest.UNSPECIFIED)))) {
            many.verify();
            float[] a = new float[one.embeddingSize()];
            float[] b = new float[a.length];
            for (int id = 0; id < f.vocabulary().size(); id++) {
                int[] g = f.vocabulary().tokens(id);
                assertTrue(one.lookup(g, 0, g.length, a, 0) >= 0);
                assertTrue(many.lookup(g, 0, g.length, b, 0) >= 0);
                for (int i = 0; i < a.length; i++) {
                    a[i] = VectorDtype.fromBfloat16(VectorDtype.toBfloat16(a[i]));
                }
                assertArrayEquals(a, b, 0f, "f-gram " + id);
            }
        }
    }

    @Test
    void computeRangesAreWholeBatchesCoveringEveryId() {
        for (int size : new int[] {0, 1, 36, 37, 38, 1000}) {
            for (int partitions : new int[] {1, 3, 7, 100}) {
                List<SparkStorePrecompute.IdRange> ranges = SparkStorePrecompute.IdRange.of(size, 37, partitions);
                assertEquals(Math.min(partitions, (size + 36) / 37), ranges.size(), size + " / " + partitions);
                int next = 0;
                for (SparkStorePrecompute.IdRange r : ranges) {
                    assertEquals(next, r.from());
                    assertTrue(r.to() > r.from() && (r.from() % 37 == 0) && (r.to() % 37 == 0 || r.to() == size));
                    next = r.to();
                }
                assertEquals(size, next);
            }
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(0, 1, 1, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 0, 1, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 0, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 1, null, " "));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 1, null, "t", " "));
        assertEquals(dev.scone.store.StoreManifest.UNSPECIFIED,
                new SparkStorePrecompute.Settings(1, 1, 1, null, "t").mainModelFingerprint());
    }
}
