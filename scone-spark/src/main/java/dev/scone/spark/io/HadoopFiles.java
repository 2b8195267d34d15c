package dev.scone.spark.io;

import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Objects;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Moves scone files between the local disk and a Hadoop-compatible file system: the formats are
 * written and read by their own classes on local files; this class only transfers them, so the
 * bytes are the same everywhere.
 */
public final class HadoopFiles {

    private HadoopFiles() {}

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
     * Writes a vocabulary file ({@link FgramVocabularyFile}) to a Hadoop path, replacing any file
     * there. On the local file system it is written atomically in place; elsewhere it is written
     * to a local temporary file, uploaded beside the target under a temporary name and renamed.
     *
     * @param vocabulary the vocabulary
     * @param target a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @throws IOException when writing fails
     */
    public static void writeVocabulary(FgramVocabulary vocabulary, String target, Configuration conf)
            throws IOException {
        Objects.requireNonNull(vocabulary, "vocabulary");
        java.nio.file.Path local = localPath(target, conf);
        if (local != null) {
            FgramVocabularyFile.write(vocabulary, local);
            return;
        }
        java.nio.file.Path tmp = Files.createTempFile("scone-vocabulary", ".fgv");
        try {
            FgramVocabularyFile.write(vocabulary, tmp);
            upload(tmp, target, conf);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a vocabulary file from a Hadoop path (through a local copy unless it is local).
     *
     * @param source a Hadoop path or URI
     * @param conf the Hadoop configuration
     * @return the vocabulary
     * @throws IOException when reading fails or the file is damaged
     */
    public static FgramVocabulary readVocabulary(String source, Configuration conf) throws IOException {
        java.nio.file.Path local = localPath(source, conf);
        if (local != null) {
            return FgramVocabularyFile.read(local);
        }
        java.nio.file.Path tmp = Files.createTempFile("scone-vocabulary", ".fgv");
        try {
            Path p = new Path(source);
            download(source, tmp, conf);
            return FgramVocabularyFile.read(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
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
        Path dst = new Path(target);
        FileSystem fs = dst.getFileSystem(conf);
        Path tmp = new Path(dst.getParent(), "." + dst.getName() + "." + UUID.randomUUID() + ".partial");
        boolean ok = false;
        try {
            fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
            if (fs.exists(dst) && !fs.delete(dst, true)) {
                throw new IOException("could not replace " + dst);
            }
            if (!fs.rename(tmp, dst)) {
                throw new IOException("could not rename " + tmp + " to " + dst);
            }
            ok = true;
        } finally {
            if (!ok) {
                fs.delete(tmp, true);
            }
        }
    }
}
