/**
 * Algorithm 3 (frequent n-gram counting, the f-gram vocabulary V_fgram) as a Spark job that gives
 * the single-machine counter's answer byte for byte.
 */
package dev.scone.spark.count;
