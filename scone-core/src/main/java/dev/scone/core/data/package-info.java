/**
 * Training data for language models over a {@link dev.scone.fgram.corpus.TokenCorpus}: fixed-length
 * windows with next-token labels and pre-scanned f-gram ids ({@link dev.scone.core.data.WindowDataset}),
 * document-level train/validation splits ({@link dev.scone.core.data.CorpusSplit}) and views of a
 * corpus restricted to some documents ({@link dev.scone.core.data.DocumentSubset}).
 *
 * <p><b>The f-gram vocabulary must be counted on the training split alone.</b> Counting it on data
 * that is later evaluated lets the model see evaluation n-grams during vocabulary construction and
 * inflates held-out results. {@link dev.scone.core.data.CorpusSplit#corpusForFgramCounting()} is the
 * corpus to count on, and {@link dev.scone.core.data.CorpusSplit#requireCountedOnTraining} refuses a
 * vocabulary whose counts prove it saw other documents.
 */
package dev.scone.core.data;
