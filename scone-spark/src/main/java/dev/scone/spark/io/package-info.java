/**
 * Reading scone files on Hadoop-compatible file systems from Spark tasks: token-id files cut into
 * splits, checksums joined across tasks, vocabulary files and folders moved to and from the
 * cluster's file system.
 */
package dev.scone.spark.io;
