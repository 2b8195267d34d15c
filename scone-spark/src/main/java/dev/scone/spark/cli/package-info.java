/** Command-line plumbing shared by the Spark main classes: arguments and the Spark context. */
package dev.scone.spark.cli;
