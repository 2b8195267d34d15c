/** Frequent n-gram counting: the paper's Algorithm 3, in memory or spilling to disk. */
package dev.scone.fgram.count;
