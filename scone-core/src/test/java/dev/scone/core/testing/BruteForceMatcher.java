package dev.scone.core.testing;

import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;

/** The reference matcher: tries every length from K down to 2 with {@link FgramVocabulary#find}. */
public final class BruteForceMatcher implements FgramMatcher {

    private final FgramVocabulary vocabulary;

    /** @param vocabulary the f-grams */
    public BruteForceMatcher(FgramVocabulary vocabulary) {
        this.vocabulary = vocabulary;
    }

    @Override
    public int maxN() {
        return vocabulary.maxN();
    }

    @Override
    public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
        for (int i = from; i < from + len; i++) {
            int id = NO_MATCH;
            for (int n = Math.min(vocabulary.maxN(), i - from + 1); n >= FgramVocabulary.MIN_N; n--) {
                id = vocabulary.find(tokens, i - n + 1, n);
                if (id >= 0) {
                    break;
                }
            }
            out[outOffset + (i - from)] = id;
        }
    }
}
