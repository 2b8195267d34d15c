/**
 * Progress of long tasks, one interface for the whole library ({@link
 * dev.scone.fgram.progress.ProgressListener}) with a console bar and a logging fallback.
 */
package dev.scone.fgram.progress;
