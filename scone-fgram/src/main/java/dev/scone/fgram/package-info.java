/**
 * scone-fgram: everything about f-grams that does not need a trained model, plus the transformer
 * building blocks. Subpackages: {@code corpus} (tokenized corpora), {@code count} (frequent
 * n-gram counting, Algorithm 3), {@code vocab} (the f-gram vocabulary), {@code match}
 * (longest-suffix matching, Algorithm 1), {@code nn} (causal decoder blocks and the f-gram model
 * A_fgram), {@code io} (file-format plumbing).
 */
package dev.scone.fgram;
