package dev.scone.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import dev.scone.spark.count.Gram;
import dev.scone.spark.io.TokenIdFileSplits;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers scone's shuffled and broadcast classes with Spark's Kryo serializer: n-gram keys as
 * varint token ids (several times smaller and faster than Java serialization, which dominates a
 * counting pass otherwise); classes that rebuild state when read keep Java serialization. Enable
 * with {@link #configure} or {@code --conf spark.serializer=org.apache.spark.serializer.KryoSerializer
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
        kryo.register(Gram.class, new GramSerializer());
        kryo.register(TokenIdFileSplits.Split.class, new JavaSerializer());
        try {
            // rebuilds its index when read: keep its readObject
            kryo.register(Class.forName("dev.scone.spark.count.GramSet"), new JavaSerializer());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        kryo.register(int[].class);
        kryo.register(float[].class);
    }

    /** An n-gram as its length and token ids, all varints. */
    private static final class GramSerializer extends Serializer<Gram> {
        GramSerializer() {
            setImmutable(true);
        }

        @Override
        public void write(Kryo kryo, Output out, Gram g) {
            int n = g.length();
            out.writeVarInt(n, true);
            for (int k = 0; k < n; k++) {
                out.writeVarInt(g.token(k), true);
            }
        }

        @Override
        public Gram read(Kryo kryo, Input in, Class<Gram> type) {
            int n = in.readVarInt(true);
            int[] t = new int[n];
            for (int k = 0; k < n; k++) {
                t[k] = in.readVarInt(true);
            }
            return Gram.wrap(t);
        }
    }
}
