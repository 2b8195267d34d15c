package dev.scone.spark.cli;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/** Starts the Spark context of a main class. */
public final class Spark {

    private Spark() {}

    /**
     * Starts a context. Under spark-submit the master comes from it; run directly (from Maven or
     * an IDE) the master is {@code master} when given, else {@code local[*]}, with the web UI off.
     *
     * @param appName the application name
     * @param master the master to use when none is configured, or {@code null}
     * @return the context; stop it when done
     */
    public static JavaSparkContext start(String appName, String master) {
        SparkConf conf = dev.scone.spark.SconeKryoRegistrator.configure(new SparkConf().setAppName(appName));
        if (master != null) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        }
        JavaSparkContext jsc = new JavaSparkContext(conf);
        jsc.setLogLevel(System.getProperty("scone.spark.logLevel", "WARN"));
        return jsc;
    }
}
