package dev.scone.spark.precompute;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;

/**
 * Kryo registration of the precompute job's classes, for {@link dev.scone.spark.SconeKryoRegistrator}
 * (the classes stay package-private). Rows travel as byte arrays, which Kryo writes as they are.
 */
public final class PrecomputeKryo {

    private PrecomputeKryo() {}

    /** @param kryo the Kryo instance Spark configures */
    public static void register(Kryo kryo) {
        // a record: Kryo's field serializer cannot set its fields
        kryo.register(SparkStorePrecompute.IdRange.class, new JavaSerializer());
        kryo.register(byte[].class);
    }
}
