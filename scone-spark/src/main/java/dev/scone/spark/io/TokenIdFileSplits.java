package dev.scone.spark.io;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.SconeFormatException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;

/**
 * A token-id file ({@link TokenIdFile}'s format) on any Hadoop-compatible file system, cut into
 * splits of about the same number of tokens that tasks read independently. The driver
 * {@link #plan plans} once: it checks the header (through {@link TokenIdFile.Header}) and streams
 * the offset section, checking its checksum and every offset. A task {@link #read reads} one
 * split: its tokens, the next few tokens of the document it ends in (so that n-grams starting in
 * the split are complete), the boundaries of the documents it touches, and the CRC32C of its own
 * tokens, which the driver joins ({@link #verifyTokens}) into the file's token checksum.
 *
 * <p>A split is a token range {@code [tokenFrom, tokenTo)} of the whole corpus, cut without
 * regard to documents; an n-gram belongs to the split holding its first token, so every n-gram of
 * every document is seen exactly once over all splits.
 */
public final class TokenIdFileSplits implements Serializable {

    private static final long serialVersionUID = 2L;
    private static final int READ_BUFFER = 1 << 20;

    /**
     * One split.
     *
     * @param index position among the file's splits, from 0
     * @param tokenFrom first token (index over the whole corpus)
     * @param tokenTo one past the last token
     * @param docFrom first document that holds a token of the range
     * @param docEnd one past the last document that holds a token of the range
     */
    public record Split(int index, long tokenFrom, long tokenTo, int docFrom, int docEnd) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * What a task read for one split.
     *
     * @param split the split
     * @param tokens the ids of tokens {@code [split.tokenFrom(), split.tokenFrom() + tokens.length)}:
     *     the split's own tokens and up to {@code overlap} more from the document it ends in
     * @param docOffsets {@code docEnd - docFrom + 1} corpus positions where the documents
     *     {@code docFrom .. docEnd - 1} start, then where the last one ends
     * @param crc CRC32C of the split's own tokens as stored (little-endian int32)
     */
    public record Chunk(Split split, int[] tokens, long[] docOffsets, long crc) {}

    private final String file;
    private final int vocabularySize;
    private final int documentCount;
    private final long tokenCount;
    private final int tokensCrc;
    private final String tokenizer; // the ids' origin, or null when the file does not record it
    private final String compaction;
    private final long offsetsAt;
    private final List<Split> splits;

    private TokenIdFileSplits(String file, TokenIdFile.Header h, List<Split> splits) {
        this.file = file;
        this.vocabularySize = h.vocabularySize();
        this.documentCount = h.documentCount();
        this.tokenCount = h.tokenCount();
        this.tokensCrc = h.tokensCrc();
        this.tokenizer = h.origin() == null ? null : h.origin().tokenizer();
        this.compaction = h.origin() == null ? null : h.origin().compaction();
        this.offsetsAt = h.offsetsAt();
        this.splits = List.copyOf(splits);
    }

    /**
     * Checks a token-id file's header and offsets and cuts it into splits.
     *
     * @param file the file, as a Hadoop path or URI ({@code /data/train.tok}, {@code hdfs://...},
     *     {@code s3a://...})
     * @param conf the Hadoop configuration to open it with
     * @param splitTokens tokens per split, at least 1
     * @return the plan
     * @throws SconeFormatException when the file is not a valid token-id file
     * @throws IOException when it cannot be read
     */
    public static TokenIdFileSplits plan(String file, Configuration conf, long splitTokens) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(conf, "conf");
        if (splitTokens < 1) {
            throw new IllegalArgumentException("splitTokens must be >= 1, got " + splitTokens);
        }
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
        FileSystem fs = p.getFileSystem(conf);
        long size = fs.getFileStatus(p).getLen();
        Path name = nioName(file);
        try (FSDataInputStream in = fs.open(p)) {
            byte[] head = new byte[(int) Math.min(TokenIdFile.Header.BYTES, size)];
            in.readFully(0, head);
            TokenIdFile.Header h = TokenIdFile.Header.parse(ByteBuffer.wrap(head), size, name);
            long n = h.tokenCount();
            int d = h.documentCount();
            int splitCount = (int) Math.max(1, Math.min(Integer.MAX_VALUE - 8, (n + splitTokens - 1) / splitTokens));
            int[] docFrom = new int[splitCount];
            int[] docEnd = new int[splitCount];
            Arrays.fill(docFrom, Integer.MAX_VALUE);
            in.seek(h.offsetsAt());
            DataInputStream data = new DataInputStream(new BufferedInputStream(in, READ_BUFFER));
            CRC32C crc = new CRC32C();
            byte[] eight = new byte[8];
            ByteBuffer le = ByteBuffer.wrap(eight).order(ByteOrder.LITTLE_ENDIAN);
            long prev = 0;
            for (int i = 0; i <= d; i++) {
                try {
                    data.readFully(eight);
                } catch (EOFException e) {
                    throw new SconeFormatException(name, "offset section ends after " + i + " of " + (d + 1)
                            + " offsets", e);
                }
                crc.update(eight);
                long off = le.getLong(0);
                if (i == 0) {
                    if (off != 0) {
                        throw new SconeFormatException(name, "document offsets start at " + off + ", expected 0");
                    }
                } else {
                    long len = off - prev;
                    if (len < 0 || len > Integer.MAX_VALUE / Integer.BYTES || off > n) {
                        throw new SconeFormatException(name, "document " + (i - 1) + " has impossible length " + len);
                    }
                    if (len > 0) {
                        int kFrom = (int) (prev / splitTokens);
                        int kTo = (int) ((off - 1) / splitTokens);
                        for (int k = kFrom; k <= kTo; k++) {
                            docFrom[k] = Math.min(docFrom[k], i - 1);
                            docEnd[k] = Math.max(docEnd[k], i);
                        }
                    }
                }
                prev = off;
            }
            if (prev != n) {
                throw new SconeFormatException(name, "document offsets end at " + prev + ", expected " + n);
            }
            if ((int) crc.getValue() != h.offsetsCrc()) {
                throw new SconeFormatException(name, "offset section checksum mismatch (damaged document offsets)");
            }
            List<Split> out = new ArrayList<>();
            if (n > 0) {
                for (int k = 0; k < splitCount; k++) {
                    out.add(new Split(k, k * splitTokens, Math.min(n, (k + 1) * splitTokens), docFrom[k], docEnd[k]));
                }
            }
            return new TokenIdFileSplits(file, h, out);
        }
    }

    /** @return the file */
    public String file() {
        return file;
    }

    /** @return V, the token vocabulary size */
    public int vocabularySize() {
        return vocabularySize;
    }

    /** @return D, the number of documents */
    public int documentCount() {
        return documentCount;
    }

    /** @return N, the number of tokens */
    public long tokenCount() {
        return tokenCount;
    }

    /** @return what a vocabulary counted on this file records of it (its origin, size and token checksum) */
    public dev.scone.fgram.vocab.FgramVocabularyFile.CountedOn countedOn() {
        return new dev.scone.fgram.vocab.FgramVocabularyFile.CountedOn(
                tokenizer == null ? null : new TokenIdFile.Origin(tokenizer, compaction), documentCount, tokenCount,
                tokensCrc);
    }

    /** @return the splits, in corpus order (none when the corpus holds no token) */
    public List<Split> splits() {
        return splits;
    }

    /**
     * Reads one split (on an executor).
     *
     * @param split one of {@link #splits()}
     * @param overlap how many tokens past the split's end to read when its last document goes on
     *     (n - 1 for n-grams)
     * @param conf the Hadoop configuration
     * @return what was read
     * @throws SconeFormatException when the offsets read contradict the plan (file changed)
     * @throws IOException when reading fails
     */
    public Chunk read(Split split, int overlap, Configuration conf) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
        FileSystem fs = p.getFileSystem(conf);
        try (FSDataInputStream in = fs.open(p)) {
            int docs = split.docEnd() - split.docFrom();
            byte[] ob = new byte[(docs + 1) * Long.BYTES];
            in.readFully(offsetsAt + (long) split.docFrom() * Long.BYTES, ob);
            long[] offsets = new long[docs + 1];
            ByteBuffer.wrap(ob).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(offsets);
            if (offsets[0] > split.tokenFrom() || offsets[docs] < split.tokenTo()) {
                throw new SconeFormatException(nioName(file), "documents " + split.docFrom() + ".." + split.docEnd()
                        + " span tokens " + offsets[0] + ".." + offsets[docs] + ", not the planned "
                        + split.tokenFrom() + ".." + split.tokenTo() + ": the file changed while being read");
            }
            long end = Math.min(split.tokenTo() + overlap, offsets[docs]);
            int count = Math.toIntExact(end - split.tokenFrom());
            byte[] tb = new byte[count * Integer.BYTES];
            in.readFully(TokenIdFile.Header.BYTES + split.tokenFrom() * Integer.BYTES, tb);
            CRC32C crc = new CRC32C();
            crc.update(tb, 0, (int) (split.tokenTo() - split.tokenFrom()) * Integer.BYTES);
            int[] tokens = new int[count];
            ByteBuffer.wrap(tb).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(tokens);
            return new Chunk(split, tokens, offsets, crc.getValue());
        }
    }

    /**
     * Checks every token id of a chunk's own range against V.
     *
     * @param chunk a chunk read from this file
     * @throws IllegalArgumentException naming the first id out of range, its document and position
     */
    public void checkIds(Chunk chunk) {
        Split s = chunk.split();
        int own = (int) (s.tokenTo() - s.tokenFrom());
        int[] t = chunk.tokens();
        for (int i = 0; i < own; i++) {
            if (t[i] < 0 || t[i] >= vocabularySize) {
                long at = s.tokenFrom() + i;
                int d = 0;
                long[] off = chunk.docOffsets();
                while (off[d + 1] <= at) {
                    d++;
                }
                throw new IllegalArgumentException("token id " + t[i] + " at document " + (s.docFrom() + d)
                        + ", position " + (at - off[d]) + " is outside the vocabulary [0, " + vocabularySize + ")");
            }
        }
    }

    /**
     * Joins the splits' checksums and compares them with the file's token checksum.
     *
     * @param crcBySplit CRC32C of each split's own tokens, by split index (every split present)
     * @throws SconeFormatException when a split is missing or the token section is damaged
     */
    public void verifyTokens(Map<Integer, Long> crcBySplit) throws SconeFormatException {
        long crc = 0;
        for (Split s : splits) {
            Long c = crcBySplit.get(s.index());
            if (c == null) {
                throw new SconeFormatException(nioName(file), "no checksum was reported for split " + s.index()
                        + " (tokens " + s.tokenFrom() + ".." + s.tokenTo() + ")");
            }
            crc = s.index() == 0 ? c : Crc32c.combine(crc, c, (s.tokenTo() - s.tokenFrom()) * Integer.BYTES);
        }
        if (!splits.isEmpty() && (int) crc != tokensCrc) {
            throw new SconeFormatException(nioName(file), "token section checksum mismatch (damaged token ids)");
        }
    }

    static Path nioName(String file) {
        return Path.of(file);
    }

    @Override
    public String toString() {
        return "TokenIdFileSplits[" + file + ", " + documentCount + " documents, " + tokenCount + " tokens, V="
                + vocabularySize + ", " + splits.size() + " splits]";
    }
}
