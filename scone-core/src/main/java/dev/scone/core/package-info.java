/** The SCONE embedding block and a reference causal language model, on DJL. */
package dev.scone.core;
