/**
 * Benchmark mains: each measures one stage of the pipeline (counting, matching, training, the
 * store) and prints its figures; they are entry points, never tests. Run them through the
 * {@code -Prun} launcher so that they get the project's JVM options.
 */
package dev.scone.examples.bench;
