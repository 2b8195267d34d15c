/**
 * What every module's tests share, published in this module's test jar: the corpus and
 * tokenizer locations ({@link dev.scone.fgram.testing.TestData}), child JVMs
 * ({@link dev.scone.fgram.testing.ChildJvm}) and the reference matcher
 * ({@link dev.scone.fgram.testing.BruteForceMatcher}).
 */
package dev.scone.fgram.testing;
