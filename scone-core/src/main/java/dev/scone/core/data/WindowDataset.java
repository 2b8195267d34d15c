package dev.scone.core.data;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.dataset.Record;
import ai.djl.util.Progress;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Fixed-length training windows over a {@link TokenCorpus}. Each window is {@code T + 1}
 * consecutive tokens of one document: the inputs are the first T, the labels the last T (the
 * next token of each input position), and the f-gram ids are the matcher's longest-suffix match at
 * each input position computed <b>within the window</b> (no match reaches before the window's
 * first token), so training sees exactly what inference sees for the same context.
 *
 * <p>Layout: a document of length L gives windows starting at 0, T, 2T, ... while
 * {@code start + T + 1 <= L}; every label is predicted once. Windows never cross a document
 * boundary. <b>Documents shorter than T + 1 tokens are skipped</b>, as is a document's tail that
 * does not fill a window (at most T tokens per document); {@link #skippedTokens()} counts them.
 *
 * <p>The f-gram vocabulary given to {@link Builder#optFgrams} must have been counted on the training
 * split alone (see {@link CorpusSplit#corpusForFgramCounting()}), also when this dataset holds
 * validation windows.
 *
 * <p>Without f-grams ({@link Builder#optFgrams} not called) every f-gram id is -1, which is the
 * input a baseline model expects.
 *
 * <p>As a DJL {@link RandomAccessDataset}, record {@code i} is window {@code i}: data NDList(tokenIds
 * (T) int32, fgramIds (T) int32), labels NDList(labels (T) int32). Training code in this project reads
 * whole batches through {@link #batch(long[])} instead, with its own seeded order.
 */
public final class WindowDataset extends RandomAccessDataset {

    private final TokenCorpus corpus;
    private final int contextLength;
    private final FgramVocabulary fgramVocabulary;
    private final FgramMatcher matcher;
    private final int[] documents; // documents with at least one window, corpus order
    private final long[] windowsBefore; // (documents.length + 1) prefix sums of windows per document
    private final long skippedTokens;

    private WindowDataset(Builder b) {
        super(b);
        this.corpus = b.corpus;
        this.contextLength = b.contextLength;
        this.fgramVocabulary = b.fgramVocabulary;
        this.matcher = b.matcher;
        int n = corpus.documentCount();
        int[] docs = new int[n];
        long[] before = new long[n + 1];
        int k = 0;
        long skipped = 0;
        int longest = 0;
        for (int d = 0; d < n; d++) {
            int len = corpus.documentLength(d);
            longest = Math.max(longest, len);
            long w = len >= contextLength + 1 ? (len - 1L) / contextLength : 0;
            skipped += len - w * contextLength;
            if (w > 0) {
                docs[k] = d;
                before[k + 1] = before[k] + w;
                k++;
            }
        }
        if (k == 0) {
            throw new IllegalArgumentException("the corpus yields no window of contextLength + 1 = " + (contextLength + 1)
                    + " tokens: " + n + " document(s), the longest has " + longest + " tokens");
        }
        this.documents = Arrays.copyOf(docs, k);
        this.windowsBefore = Arrays.copyOf(before, k + 1);
        this.skippedTokens = skipped;
    }

    /**
     * @param corpus the corpus to cut into windows
     * @param contextLength T, at least 1
     * @return a builder
     */
    public static Builder builder(TokenCorpus corpus, int contextLength) {
        return new Builder(corpus, contextLength);
    }

    /** @return the corpus */
    public TokenCorpus corpus() {
        return corpus;
    }

    /** @return T */
    public int contextLength() {
        return contextLength;
    }

    /** @return the f-gram vocabulary, or {@code null} when the dataset has no f-grams */
    public FgramVocabulary fgramVocabulary() {
        return fgramVocabulary;
    }

    /** @return the number of windows */
    public long windowCount() {
        return windowsBefore[documents.length];
    }

    /** @return the number of corpus tokens no window predicts (short documents and tails) */
    public long skippedTokens() {
        return skippedTokens;
    }

    /**
     * @param window a window index in {@code [0, windowCount())}
     * @return the corpus document the window lies in
     */
    public int documentOf(long window) {
        return documents[slot(window)];
    }

    /**
     * @param window a window index in {@code [0, windowCount())}
     * @return the position in its document of the window's first input token
     */
    public int startOf(long window) {
        int s = slot(window);
        return (int) ((window - windowsBefore[s]) * contextLength);
    }

    /**
     * Describes what the windows are cut from (corpus sizes, T, window count, f-gram vocabulary
     * fingerprint). Checkpoints record it so that training never resumes on other data.
     *
     * @return a one-line description
     */
    public String signature() {
        return "documents=" + corpus.documentCount() + " tokens=" + corpus.tokenCount() + " vocabularySize="
                + corpus.vocabularySize() + " contextLength=" + contextLength + " windows=" + windowCount()
                + " fgrams=" + (fgramVocabulary == null ? "none" : fgramVocabulary.fingerprint());
    }

    /**
     * Where the token ids come from, when their file records it ({@link dev.scone.fgram.corpus.TokenIdFile#origin()}):
     * {@code "tokenizer=T compaction=C"} (C a fingerprint or {@code none}); empty when unknown.
     * Checkpoints record it, so that a trained model knows the ids it was trained on.
     *
     * @return the origin, or {@code ""}
     */
    public String origin() {
        if (corpus instanceof dev.scone.fgram.corpus.TokenIdFile f && f.origin() != null) {
            return "tokenizer=" + f.origin().tokenizer() + " compaction=" + f.origin().compactionOrNone();
        }
        return "";
    }

    /**
     * Writes one window into caller arrays.
     *
     * @param window a window index in {@code [0, windowCount())}
     * @param tokenIds receives the T input tokens at {@code offset}
     * @param labels receives the T labels at {@code offset}
     * @param fgramIds receives the T f-gram ids at {@code offset}
     * @param offset where to write in the three arrays
     */
    public void fill(long window, int[] tokenIds, int[] labels, int[] fgramIds, int offset) {
        int s = slot(window);
        int doc = documents[s];
        int start = (int) ((window - windowsBefore[s]) * contextLength);
        IntBuffer buf = corpus.tokens(doc);
        buf.get(start, tokenIds, offset, contextLength);
        labels[offset + contextLength - 1] = buf.get(start + contextLength);
        System.arraycopy(tokenIds, offset + 1, labels, offset, contextLength - 1);
        if (matcher == null) {
            Arrays.fill(fgramIds, offset, offset + contextLength, FgramMatcher.NO_MATCH);
        } else {
            matcher.match(tokenIds, offset, contextLength, fgramIds, offset);
        }
    }

    /**
     * Assembles windows into a batch, in the given order.
     *
     * @param windows window indices, each in {@code [0, windowCount())}; B = their number
     * @return the batch
     */
    public WindowBatch batch(long[] windows) {
        int b = windows.length;
        int n = Math.multiplyExact(b, contextLength);
        int[] t = new int[n];
        int[] l = new int[n];
        int[] f = new int[n];
        for (int i = 0; i < b; i++) {
            fill(windows[i], t, l, f, i * contextLength);
        }
        return new WindowBatch(b, contextLength, t, l, f, fgramVocabulary == null ? null : fgramVocabulary.fingerprint());
    }

    @Override
    public Record get(NDManager manager, long index) {
        int[] t = new int[contextLength];
        int[] l = new int[contextLength];
        int[] f = new int[contextLength];
        fill(index, t, l, f, 0);
        return new Record(new NDList(manager.create(t), manager.create(f)), new NDList(manager.create(l)));
    }

    @Override
    protected long availableSize() {
        return windowCount();
    }

    @Override
    public void prepare(Progress progress) {
        // Windows are computed on demand from the corpus: nothing to prepare.
    }

    private int slot(long window) {
        if (window < 0 || window >= windowCount()) {
            throw new IndexOutOfBoundsException("window " + window + " is outside [0, " + windowCount() + ")");
        }
        int i = Arrays.binarySearch(windowsBefore, window);
        // An exact hit on a prefix sum is the first window of that slot; otherwise the insertion point - 1.
        return i >= 0 ? i : -i - 2;
    }

    @Override
    public String toString() {
        return "WindowDataset[" + signature() + "]";
    }

    /** Builds a {@link WindowDataset}; {@link #build()} checks the arguments. */
    public static final class Builder extends RandomAccessDataset.BaseBuilder<Builder> {

        private final TokenCorpus corpus;
        private final int contextLength;
        private FgramVocabulary fgramVocabulary;
        private FgramMatcher matcher;

        private Builder(TokenCorpus corpus, int contextLength) {
            this.corpus = corpus;
            this.contextLength = contextLength;
        }

        /**
         * Pre-scans every window with a matcher over the given vocabulary.
         *
         * @param vocabulary the f-gram vocabulary (over the corpus's token ids)
         * @param matcher a matcher over that vocabulary
         * @return this builder
         */
        public Builder optFgrams(FgramVocabulary vocabulary, FgramMatcher matcher) {
            this.fgramVocabulary = Objects.requireNonNull(vocabulary, "vocabulary");
            this.matcher = Objects.requireNonNull(matcher, "matcher");
            return this;
        }

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * @return the dataset
         * @throws IllegalArgumentException when T &lt; 1, the corpus yields no window, or the
         *     f-gram vocabulary does not fit the corpus or the matcher
         */
        public WindowDataset build() {
            Objects.requireNonNull(corpus, "corpus");
            if (contextLength < 1) {
                throw new IllegalArgumentException("contextLength (T) must be >= 1, got " + contextLength);
            }
            if (fgramVocabulary != null) {
                if (fgramVocabulary.tokenVocabularySize() != corpus.vocabularySize()) {
                    throw new IllegalArgumentException("f-gram vocabulary is over " + fgramVocabulary.tokenVocabularySize()
                            + " token ids but the corpus has vocabularySize " + corpus.vocabularySize());
                }
                if (matcher.maxN() != fgramVocabulary.maxN()) {
                    throw new IllegalArgumentException("matcher has maxN " + matcher.maxN()
                            + " but the f-gram vocabulary has maxN " + fgramVocabulary.maxN());
                }
            }
            if (sampler == null) {
                setSampling(1, false);
            }
            return new WindowDataset(this);
        }
    }
}
