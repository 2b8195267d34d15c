/** Longest-suffix f-gram matching (the paper's Algorithm 1). */
package dev.scone.fgram.match;
