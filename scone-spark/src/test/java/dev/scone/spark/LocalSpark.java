package dev.scone.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** The tests' one Spark context (a JVM holds at most one): local[2], loopback only, no UI. */
public final class LocalSpark {

    private static JavaSparkContext context;

    private LocalSpark() {}

    /** Stops the shared context (a test that needs its own, as one JVM holds one); the next {@link #get} starts another. */
    public static synchronized void stop() {
        if (context != null) {
            context.stop();
            context = null;
        }
    }

    /** @return the shared context, started on first use */
    public static synchronized JavaSparkContext get() {
        if (context == null) {
            SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("scone-spark-tests")
                    .set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1")
                    .set("spark.ui.showConsoleProgress", "false")
                    .set("spark.sql.shuffle.partitions", "4")
                    .set("spark.default.parallelism", "4")
                    .set("spark.shuffle.compress", "false")
                    .set("spark.broadcast.compress", "false");
            context = new JavaSparkContext(SconeKryoRegistrator.configure(conf));
            context.setLogLevel("WARN");
        }
        return context;
    }
}
