/** File-format plumbing shared by every scone file: atomic writes and precise format errors. */
package dev.scone.fgram.io;
