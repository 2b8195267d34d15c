package dev.scone.spark.precompute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.scone.spark.LocalSpark;
import dev.scone.store.FgramStore;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreMismatchException;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkStorePrecomputeTest {

    @TempDir
    Path tmp;

    @Test
    void shardedStoreServesExactlyTheSingleStoresVectors() throws IOException {
        PrecomputeFixture f = PrecomputeFixture.create(tmp);
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
