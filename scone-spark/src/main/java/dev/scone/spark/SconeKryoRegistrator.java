package dev.scone.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import dev.scone.spark.io.TokenIdFileSplits;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers scone's shuffled, persisted and broadcast classes with Spark's Kryo serializer: the
 * counting job's n-gram blocks as plain arrays (keys as fixed 8-byte longs, token ids and counts
 * as varints), several times smaller and faster than Java serialization, and the precompute's
 * id ranges and rows. Enable with
 * {@link #configure} or {@code --conf spark.serializer=org.apache.spark.serializer.KryoSerializer
 * --conf spark.kryo.registrator=dev.scone.spark.SconeKryoRegistrator}. The jobs are correct with
 * either serializer.
 */
public final class SconeKryoRegistrator implements KryoRegistrator {

    /** Creates the registrator (Spark instantiates it by name). */
    public SconeKryoRegistrator() {}

    /**
     * Sets Kryo and this registrator unless the configuration already chose a serializer.
     *
     * @param conf a Spark configuration
     * @return {@code conf}
     */
    public static SparkConf configure(SparkConf conf) {
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrator", SconeKryoRegistrator.class.getName());
        return conf;
    }

    @Override
    public void registerClasses(Kryo kryo) {
        kryo.register(TokenIdFileSplits.Split.class, new JavaSerializer());
        kryo.register(int[].class);
        kryo.register(long[].class);
        kryo.register(float[].class);
        dev.scone.spark.count.CountingKryo.register(kryo);
        dev.scone.spark.precompute.PrecomputeKryo.register(kryo);
    }
}
