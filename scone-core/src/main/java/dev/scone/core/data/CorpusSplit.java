package dev.scone.core.data;

import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.Objects;
import java.util.Random;

/**
 * A split of a corpus into a training part and a validation part, by whole documents: a document
 * is in exactly one part, so no n-gram or training window is shared between them.
 *
 * <p><b>Count the f-gram vocabulary on {@link #corpusForFgramCounting()} (the training part) and
 * nothing else.</b> An evaluation split must never contribute to V_fgram; {@link
 * #requireCountedOnTraining(FgramVocabulary)} checks a vocabulary against this rule.
 *
 * <p>Both constructions are deterministic: the same corpus and arguments give the same split.
 */
public final class CorpusSplit {

    private final TokenCorpus corpus;
    private final DocumentSubset training;
    private final DocumentSubset validation;

    private CorpusSplit(TokenCorpus corpus, int[] trainingDocs, int[] validationDocs) {
        this.corpus = corpus;
        this.training = new DocumentSubset(corpus, trainingDocs);
        this.validation = new DocumentSubset(corpus, validationDocs);
    }

    /**
     * Holds out a random fraction of the documents, chosen under a seed. Both parts keep the
     * corpus order of their documents.
     *
     * @param corpus the corpus to split
     * @param validationFraction fraction of documents held out, in (0, 1); at least one document
     *     goes to each part
     * @param seed the seed of the choice
     * @return the split
     * @throws IllegalArgumentException when the fraction is out of range or the corpus has fewer
     *     than two documents
     */
    public static CorpusSplit randomDocuments(TokenCorpus corpus, double validationFraction, long seed) {
        Objects.requireNonNull(corpus, "corpus");
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validationFraction must be in (0, 1), got " + validationFraction);
        }
        int n = corpus.documentCount();
        if (n < 2) {
            throw new IllegalArgumentException("cannot split a corpus of " + n + " document(s): need at least 2");
        }
        int held = (int) Math.round(n * validationFraction);
        held = Math.max(1, Math.min(n - 1, held));
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        Random rnd = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] val = Arrays.copyOf(perm, held);
        int[] train = Arrays.copyOfRange(perm, held, n);
        Arrays.sort(val);
        Arrays.sort(train);
        return new CorpusSplit(corpus, train, val);
    }

    /**
     * Holds out the last {@code n} documents (a chronological split when documents are stored in
     * time order).
     *
     * @param corpus the corpus to split
     * @param n number of documents held out, in [1, documentCount)
     * @return the split
     * @throws IllegalArgumentException when {@code n} is out of range
     */
    public static CorpusSplit lastDocuments(TokenCorpus corpus, int n) {
        Objects.requireNonNull(corpus, "corpus");
        int total = corpus.documentCount();
        if (n < 1 || n >= total) {
            throw new IllegalArgumentException("number of held-out documents must be in [1, " + total + "), got " + n);
        }
        int[] train = new int[total - n];
        int[] val = new int[n];
        for (int i = 0; i < total - n; i++) {
            train[i] = i;
        }
        for (int i = 0; i < n; i++) {
            val[i] = total - n + i;
        }
        return new CorpusSplit(corpus, train, val);
    }

    /** @return the corpus that was split */
    public TokenCorpus corpus() {
        return corpus;
    }

    /** @return the training documents */
    public DocumentSubset training() {
        return training;
    }

    /** @return the validation documents */
    public DocumentSubset validation() {
        return validation;
    }

    /**
     * The corpus to count the f-gram vocabulary on: the training part, and only it.
     *
     * @return the training documents
     */
    public TokenCorpus corpusForFgramCounting() {
        return training;
    }

    /**
     * Checks that a vocabulary can have been counted on the training part alone: every f-gram's
     * recorded count must not exceed its number of occurrences (within documents) in the training
     * part. A vocabulary counted on the whole corpus fails this as soon as one f-gram also occurs
     * in a validation document. One pass over the training tokens.
     *
     * @param vocabulary the vocabulary to check
     * @throws IllegalArgumentException when the token vocabularies differ or an f-gram's count
     *     exceeds its training occurrences (the message names the f-gram)
     */
    public void requireCountedOnTraining(FgramVocabulary vocabulary) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        if (vocabulary.tokenVocabularySize() != corpus.vocabularySize()) {
            throw new IllegalArgumentException("f-gram vocabulary is over " + vocabulary.tokenVocabularySize()
                    + " token ids but the corpus has " + corpus.vocabularySize());
        }
        long[] occurrences = new long[vocabulary.size()];
        int maxN = vocabulary.maxN();
        for (int d = 0; d < training.documentCount(); d++) {
            int[] doc = training.document(d);
            for (int i = 1; i < doc.length; i++) {
                for (int n = FgramVocabulary.MIN_N; n <= maxN && n <= i + 1; n++) {
                    int id = vocabulary.find(doc, i - n + 1, n);
                    if (id >= 0) {
                        occurrences[id]++;
                    }
                }
            }
        }
        for (int id = 0; id < occurrences.length; id++) {
            if (vocabulary.count(id) > occurrences[id]) {
                throw new IllegalArgumentException("f-gram " + id + " " + Arrays.toString(vocabulary.tokens(id))
                        + " has count " + vocabulary.count(id) + " but occurs only " + occurrences[id]
                        + " times in the training split: the vocabulary was not counted on the training split alone");
            }
        }
    }

    @Override
    public String toString() {
        return "CorpusSplit[training=" + training.documentCount() + " documents/" + training.tokenCount()
                + " tokens, validation=" + validation.documentCount() + " documents/" + validation.tokenCount()
                + " tokens]";
    }
}
