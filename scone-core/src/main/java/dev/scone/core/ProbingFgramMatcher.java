package dev.scone.core;

import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/**
 * The simplest exact {@link FgramMatcher}: at each position it probes the vocabulary for the
 * f-grams ending there, longest first (at most K - 1 probes). A reference for faster matchers.
 */
public final class ProbingFgramMatcher implements FgramMatcher {

    private final FgramVocabulary vocabulary;

    /** @param vocabulary V_fgram */
    public ProbingFgramMatcher(FgramVocabulary vocabulary) {
        this.vocabulary = Objects.requireNonNull(vocabulary, "vocabulary");
    }

    @Override
    public int maxN() {
        return vocabulary.maxN();
    }

    @Override
    public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(outOffset, len, out.length);
        int k = vocabulary.maxN();
        for (int i = 0; i < len; i++) {
            int id = NO_MATCH;
            for (int n = Math.min(k, i + 1); n >= FgramVocabulary.MIN_N; n--) {
                id = vocabulary.find(tokens, from + i - n + 1, n);
                if (id >= 0) {
                    break;
                }
            }
            out[outOffset + i] = id;
        }
    }
}
