/**
 * scone on Apache Spark: the f-gram counting job ({@code count}), the distributed store precompute
 * ({@code precompute}), their command lines ({@code cli}), reading scone files on Hadoop file
 * systems ({@code io}) and the benchmark ({@code bench}).
 */
package dev.scone.spark;
