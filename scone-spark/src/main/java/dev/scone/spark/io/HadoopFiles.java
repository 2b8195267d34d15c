package dev.scone.spark.io;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * scone files on a Hadoop-compatible file system: the formats are read and written by their own
 * classes; this class gives them the file system's bytes (positioned reads, a stream to a
 * temporary name renamed into place) or moves whole files to and from the local disk, so that
 * the bytes are the same everywhere.
 */
public final class HadoopFiles {

    private static final int STREAM_BUFFER = 1 << 20;

    private HadoopFiles() {}

    /** Writes a file's whole content to a stream. */
    @FunctionalInterface
    public interface StreamWriter {
        /**
         * @param out the stream (closed by the caller)
         * @throws IOException when writing fails; nothing is then published
         */
        void write(OutputStream out) throws IOException;
    }

    /**
     * @param target a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @return the local file it names when it is on the local file system, else {@code null}
     * @throws IOException when the file system cannot be resolved
     */
    public static java.nio.file.Path localPath(String target, Configuration conf) throws IOException {
        Path p = new Path(target);
        FileSystem fs = p.getFileSystem(conf);
        if (fs instanceof LocalFileSystem || "file".equals(fs.getScheme())) {
            return java.nio.file.Path.of(fs.makeQualified(p).toUri());
        }
        return null;
    }

    /**
     * Reads the records of the ids {@code [from, to)} of a vocabulary file
     * ({@link FgramVocabularyFile#readRange}) and no others: on the local file system from the file,
     * elsewhere through positioned reads of the bytes of the header, the block index and the
     * range's blocks. {@code from == to} reads the header and block index alone: the vocabulary's
     * size, K, token vocabulary size and fingerprint, none of its f-grams.
     *
     * @param source a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @param from the first id
     * @param to the id after the last
     * @return the vocabulary's range
     * @throws IOException when reading fails or the parts read are damaged
     */
    public static FgramVocabulary readVocabularyRange(String source, Configuration conf, int from, int to)
            throws IOException {
        java.nio.file.Path local = localPath(source, conf);
        if (local != null) {
            return FgramVocabularyFile.readRange(local, from, to);
        }
        Path p = new Path(source);
        FileSystem fs = p.getFileSystem(conf);
        try (FSDataInputStream in = fs.open(p);
                SeekableByteChannel ch = new PositionedChannel(in, fs.getFileStatus(p).getLen())) {
            return FgramVocabularyFile.readRange(ch, java.nio.file.Path.of(source), from, to);
        }
    }

    /**
     * Writes a file to a Hadoop path from a stream, replacing any file there, so that no reader
     * sees it half written: on the local file system through {@link AtomicFiles} (a hidden
     * temporary file beside the target, forced to disk, renamed); elsewhere to a temporary name
     * beside the target, renamed when complete.
     *
     * @param target a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @param writer writes the content
     * @throws IOException when writing or renaming fails; the target is then unchanged and the
     *     temporary file removed
     */
    public static void writeAtomically(String target, Configuration conf, StreamWriter writer) throws IOException {
        java.nio.file.Path local = localPath(target, conf);
        if (local != null) {
            AtomicFiles.write(local, tmp -> {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), STREAM_BUFFER)) {
                    writer.write(out);
                }
            });
            return;
        }
        replaceWith(new Path(target), conf, (fs, tmp) -> {
            try (FSDataOutputStream raw = fs.create(tmp, true);
                    OutputStream out = new BufferedOutputStream(raw, STREAM_BUFFER)) {
                writer.write(out);
            }
        });
    }

    /**
     * Copies a file from a Hadoop path to a local file (replacing it).
     *
     * @param source a Hadoop path or URI
     * @param local the local file
     * @param conf the Hadoop configuration
     * @throws IOException when the copy fails
     */
    public static void download(String source, java.nio.file.Path local, Configuration conf) throws IOException {
        Path p = new Path(source);
        Files.deleteIfExists(local);
        p.getFileSystem(conf).copyToLocalFile(false, p, new Path(local.toUri()), true);
    }

    /**
     * Copies a local file or folder to a Hadoop path under a temporary name, then renames it into place
     * (replacing any file there).
     *
     * @param local the local file
     * @param target a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @throws IOException when the copy or the rename fails (the temporary copy is removed)
     */
    public static void upload(java.nio.file.Path local, String target, Configuration conf) throws IOException {
        Path source = new Path(local.toUri());
        replaceWith(new Path(target), conf, (fs, tmp) -> fs.copyFromLocalFile(false, true, source, tmp));
    }

    /** Writes a temporary path beside a target. */
    @FunctionalInterface
    private interface Fill {
        void fill(FileSystem fs, Path tmp) throws IOException;
    }

    /**
     * Fills a temporary name beside {@code dst}, then renames it into place (replacing any file
     * there); when either step fails the temporary is removed and {@code dst} is unchanged.
     */
    private static void replaceWith(Path dst, Configuration conf, Fill fill) throws IOException {
        FileSystem fs = dst.getFileSystem(conf);
        Path tmp = temporaryBeside(dst);
        boolean ok = false;
        try {
            fill.fill(fs, tmp);
            replace(fs, tmp, dst);
            ok = true;
        } finally {
            if (!ok) {
                fs.delete(tmp, true);
            }
        }
    }

    private static Path temporaryBeside(Path dst) {
        return new Path(dst.getParent(), "." + dst.getName() + "." + UUID.randomUUID() + ".partial");
    }

    private static void replace(FileSystem fs, Path tmp, Path dst) throws IOException {
        if (fs.exists(dst) && !fs.delete(dst, true)) {
            throw new IOException("could not replace " + dst);
        }
        if (!fs.rename(tmp, dst)) {
            throw new IOException("could not rename " + tmp + " to " + dst);
        }
    }

    /**
     * A read-only channel over a Hadoop input stream's positioned reads: each read asks the file
     * system for the bytes at the channel's position and no others.
     */
    static final class PositionedChannel implements SeekableByteChannel {
        private final FSDataInputStream in;
        private final long size;
        private long position;
        private boolean open = true;
        private byte[] scratch = new byte[0];

        PositionedChannel(FSDataInputStream in, long size) {
            this.in = in;
            this.size = size;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            ensureOpen();
            if (position >= size) {
                return -1;
            }
            int want = (int) Math.min(dst.remaining(), size - position);
            int n;
            if (dst.hasArray()) {
                n = in.read(position, dst.array(), dst.arrayOffset() + dst.position(), want);
                if (n > 0) {
                    dst.position(dst.position() + n);
                }
            } else {
                if (scratch.length < want) {
                    scratch = new byte[want];
                }
                n = in.read(position, scratch, 0, want);
                if (n > 0) {
                    dst.put(scratch, 0, n);
                }
            }
            if (n > 0) {
                position += n;
            }
            return n;
        }

        @Override
        public int write(ByteBuffer src) {
            throw new NonWritableChannelException();
        }

        @Override
        public long position() throws IOException {
            ensureOpen();
            return position;
        }

        @Override
        public SeekableByteChannel position(long newPosition) throws IOException {
            ensureOpen();
            if (newPosition < 0) {
                throw new IllegalArgumentException("negative position " + newPosition);
            }
            position = newPosition;
            return this;
        }

        @Override
        public long size() throws IOException {
            ensureOpen();
            return size;
        }

        @Override
        public SeekableByteChannel truncate(long s) {
            throw new NonWritableChannelException();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            open = false; // the stream is the caller's
        }

        private void ensureOpen() throws ClosedChannelException {
            if (!open) {
                throw new ClosedChannelException();
            }
        }
    }
}
