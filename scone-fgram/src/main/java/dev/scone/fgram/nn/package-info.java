/** Transformer building blocks (pre-LN causal decoder) and the f-gram model A_fgram, on DJL. */
package dev.scone.fgram.nn;
