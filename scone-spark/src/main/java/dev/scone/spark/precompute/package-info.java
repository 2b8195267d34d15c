/**
 * The store precompute (A_fgram over every f-gram of V_fgram) as a Spark job writing a sharded
 * store that inference serves as one table.
 */
package dev.scone.spark.precompute;
