/**
 * Fixtures of scone-core's tests: generated corpora and vocabularies
 * with fixed seeds ({@link dev.scone.core.testing.Fixtures}) and a stand-in model with the scone
 * input contract ({@link dev.scone.core.testing.TinyLmBlock}).
 */
package dev.scone.core.testing;
