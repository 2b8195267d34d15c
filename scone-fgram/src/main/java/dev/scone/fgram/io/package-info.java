/**
 * File-format plumbing shared by every scone file: atomic writes, precise format errors and the
 * one {@code key=value} text form of manifests and configurations.
 */
package dev.scone.fgram.io;
