/** The f-gram vocabulary V_fgram, its file format and its fingerprint. */
package dev.scone.fgram.vocab;
