package dev.scone.fgram.corpus;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The golden files of the corpus package's formats (token-id files of versions 1 and 2, the
 * token compaction of version 1), kept under {@code src/test/resources/golden/corpus/} so that every later reader is checked
 * against files written by this version. {@link #regenerate} rewrites them; run it only when a
 * new format version is added (and keep the old files).
 */
public final class GoldenFiles {

    /** Folder of the golden files, from the module root. */
    public static final String FOLDER = "src/test/resources/golden/corpus";

    /** The token-id file, format version 1. */
    public static final String TOKEN_ID_FILE_V1 = "tokens-v1.tok";

    /** The token-id file, format version 2 (with an origin; the current writer's). */
    public static final String TOKEN_ID_FILE_V2 = "tokens-v2.tok";

    /** The origin recorded in {@link #TOKEN_ID_FILE_V2}. */
    public static final TokenIdFile.Origin ORIGIN = new TokenIdFile.Origin("00112233445566ff",
            "0123456789abcdef01234567");

    /** The token compaction file, format version 1. */
    public static final String COMPACTION_V1 = "compaction-v1.cmp";

    /** Vocabulary size of the golden corpus. */
    public static final int VOCABULARY_SIZE = 20;

    /** Ids kept by the golden compaction. */
    public static final int KEEP = 4;

    private GoldenFiles() {}

    /** @return the golden corpus: four documents, one of them empty */
    public static int[][] documents() {
        return new int[][] {{3, 1, 4, 1, 5, 9, 2, 6}, {}, {19, 0}, {5, 3, 5}};
    }

    /**
     * Writes the golden files of the current versions into a folder (the version-1 token-id file
     * is no longer written: its committed bytes stay as they are).
     *
     * @param dir the folder
     * @throws IOException when writing fails
     */
    public static void regenerate(Path dir) throws IOException {
        InMemoryTokenCorpus corpus = new InMemoryTokenCorpus(documents(), VOCABULARY_SIZE);
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(dir.resolve(TOKEN_ID_FILE_V2), VOCABULARY_SIZE, ORIGIN)) {
            for (int d = 0; d < corpus.documentCount(); d++) {
                w.append(corpus.tokens(d));
            }
            w.complete();
        }
        TokenCompaction.fit(corpus, KEEP).save(dir.resolve(COMPACTION_V1));
    }

    /**
     * Regenerates the golden files.
     *
     * @param args optional: the folder (default {@link #FOLDER}, relative to the module root)
     * @throws IOException when writing fails
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : FOLDER);
        regenerate(dir);
        System.out.println("wrote golden corpus files to " + dir.toAbsolutePath());
    }
}
