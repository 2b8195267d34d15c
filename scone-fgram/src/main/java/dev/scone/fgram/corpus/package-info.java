/**
 * Tokenized corpora: tokenizers, the token-id file format and vocabulary compaction. A corpus
 * is a list of documents of token ids; documents are never joined.
 */
package dev.scone.fgram.corpus;
