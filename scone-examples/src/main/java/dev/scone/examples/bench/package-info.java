/**
 * Benchmark mains: each measures one stage of the pipeline on a synthetic corpus (and on any
 * {@link dev.scone.fgram.corpus.TokenCorpus} through a public method) and prints its figures.
 */
package dev.scone.examples.bench;
