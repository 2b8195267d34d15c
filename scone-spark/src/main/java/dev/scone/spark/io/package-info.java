/**
 * Reading scone files on Hadoop-compatible file systems from Spark tasks: token-id files cut into
 * splits, checksums joined across tasks, ranges of vocabulary files read by positioned reads,
 * files written atomically from a stream, and folders moved to and from the cluster's file system.
 */
package dev.scone.spark.io;
