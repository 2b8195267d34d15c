/**
 * The f-gram vocabulary V_fgram, its file format and its fingerprint: one record layout (blocks of
 * consecutive ids) held on the heap or mapped from a file, for any size up to 2^31 - 1 f-grams;
 * files read whole, by range of ids, or memory-mapped.
 */
package dev.scone.fgram.vocab;
