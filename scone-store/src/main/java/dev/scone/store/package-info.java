/** Precomputed f-gram embeddings in off-heap Chronicle Map files, and batched lookups for inference. */
package dev.scone.store;
