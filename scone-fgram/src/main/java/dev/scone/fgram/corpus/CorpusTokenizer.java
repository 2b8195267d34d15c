package dev.scone.fgram.corpus;

import dev.scone.fgram.progress.ProgressBarListener;
import dev.scone.fgram.progress.ProgressListener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokenizes a folder of UTF-8 {@code .txt} files, one document per file in file-name order, into a
 * {@link TokenIdFile}. Documents are tokenized in parallel; the file keeps their order.
 */
public final class CorpusTokenizer {

    private static final Logger LOG = LoggerFactory.getLogger(CorpusTokenizer.class);

    private final Tokenizer tokenizer;
    private final int threads;
    private final ProgressListener progress;
    private final TokenIdFile.Origin origin;

    private CorpusTokenizer(Builder b) {
        this.tokenizer = b.tokenizer;
        this.threads = b.threads;
        this.progress = b.progress;
        this.origin = b.origin;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * What a run produced.
     *
     * @param file the token-id file written
     * @param documentNames the file name of each document, in document order
     * @param tokenCount tokens written
     * @param elapsed wall time of the run
     */
    public record Result(Path file, List<String> documentNames, long tokenCount, Duration elapsed) {
        /** @return the number of documents */
        public int documentCount() {
            return documentNames.size();
        }
    }

    /**
     * Lists a folder's documents: its {@code .txt} files (not sub-folders), sorted by file name.
     *
     * @param folder the folder
     * @return the files
     * @throws IllegalArgumentException when the folder holds no {@code .txt} file
     * @throws IOException when the folder cannot be listed
     */
    public static List<Path> listDocuments(Path folder) throws IOException {
        Objects.requireNonNull(folder, "folder");
        if (!Files.isDirectory(folder)) {
            throw new NotDirectoryException(folder + " is not a folder");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(folder)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p))
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()))
                    .toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no .txt documents in " + folder);
        }
        return files;
    }

    /**
     * Tokenizes every document of a folder into a token-id file.
     *
     * @param folder the folder of {@code .txt} files
     * @param target the token-id file to write (replaced when complete)
     * @return what was written
     * @throws IllegalArgumentException when the folder holds no {@code .txt} file, or every
     *     document is empty after tokenization
     * @throws IOException when a file cannot be read (e.g. is not valid UTF-8; the message names
     *     it) or the output cannot be written; no output file is left then
     */
    public Result tokenize(Path folder, Path target) throws IOException {
        long t0 = System.nanoTime();
        List<Path> files = listDocuments(folder);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "corpus-tokenizer");
            t.setDaemon(true);
            return t;
        });
        ArrayDeque<Future<int[]>> inFlight = new ArrayDeque<>();
        int window = threads * 4;
        progress.start("tokenize", files.size());
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(target, tokenizer.vocabularySize(), origin)) {
            int next = 0;
            for (int d = 0; d < files.size(); d++) {
                while (next < files.size() && inFlight.size() < window) {
                    Path f = files.get(next++);
                    inFlight.add(pool.submit(() -> tokenizer.encode(readUtf8(f))));
                }
                int[] ids = await(inFlight.poll(), files.get(d));
                w.append(ids);
                progress.advance(1);
            }
            if (w.tokenCount() == 0) {
                throw new IllegalArgumentException("all " + files.size() + " documents in " + folder
                        + " tokenize to zero tokens");
            }
            long tokens = w.tokenCount();
            w.complete();
            Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
            LOG.info("tokenized {} documents, {} tokens with {} in {} ms -> {}", files.size(), tokens,
                    tokenizer.name(), elapsed.toMillis(), target);
            return new Result(target, files.stream().map(p -> p.getFileName().toString()).toList(), tokens, elapsed);
        } finally {
            progress.finish();
            inFlight.forEach(f -> f.cancel(true));
            pool.shutdownNow();
        }
    }

    private static int[] await(Future<int[]> f, Path file) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while tokenizing " + file, e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("tokenizing " + file + " failed", c);
        }
    }

    private static String readUtf8(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + " is not valid UTF-8: " + e, e);
        }
    }

    /** Configures a {@link CorpusTokenizer}: the tokenizer is required. */
    public static final class Builder {
        private Tokenizer tokenizer;
        private int threads = Runtime.getRuntime().availableProcessors();
        private ProgressListener progress;
        private TokenIdFile.Origin origin;

        private Builder() {}

        /**
         * @param origin what the output file records as the source of its ids (typically
         *     {@link TokenIdFile.Origin#ofTokenizer} of the tokenizer's file; default: none)
         * @return this builder
         */
        public Builder optOrigin(TokenIdFile.Origin origin) {
            this.origin = origin;
            return this;
        }

        /**
         * @param tokenizer the tokenizer (required; not closed by the corpus tokenizer)
         * @return this builder
         */
        public Builder setTokenizer(Tokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /**
         * @param threads worker threads (default: available processors)
         * @return this builder
         */
        public Builder optThreads(int threads) {
            this.threads = threads;
            return this;
        }

        /**
         * @param progress hears the progress, one step per document (default: a console
         *     progress bar; {@link ProgressListener#NONE} for silence)
         * @return this builder
         */
        public Builder optProgress(ProgressListener progress) {
            this.progress = progress;
            return this;
        }

        /**
         * @return the corpus tokenizer
         * @throws IllegalArgumentException when the tokenizer is missing or threads &lt; 1
         */
        public CorpusTokenizer build() {
            if (tokenizer == null) {
                throw new IllegalArgumentException("a tokenizer is required (setTokenizer)");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            }
            if (progress == null) {
                progress = new ProgressBarListener("docs");
            }
            return new CorpusTokenizer(this);
        }
    }
}
