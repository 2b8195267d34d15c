/** Autoregressive text generation (greedy and top-k sampling) with any reference language model. */
package dev.scone.core.generate;
