/**
 * Autoregressive generation with a reference language model at inference: incremental decoding over
 * a key/value cache ({@link dev.scone.core.generate.IncrementalDecoder}), several sequences per
 * batch, greedy, top-k and top-p sampling ({@link dev.scone.core.generate.TextGenerator}); and the
 * same models under DJL's own searches (greedy, beam, contrastive) through
 * {@link dev.scone.core.generate.CausalLmAdapterBlock} and {@link dev.scone.core.generate.CausalLmTranslator}.
 */
package dev.scone.core.generate;
