/** The benchmark of the Spark counter against the single-machine counter (local mode). */
package dev.scone.spark.bench;
