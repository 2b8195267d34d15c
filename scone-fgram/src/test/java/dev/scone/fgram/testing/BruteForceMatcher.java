package dev.scone.fgram.testing;

import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/**
 * The reference matcher of every module's tests: at each position it tries every length from K
 * down to 2 with {@link FgramVocabulary#find}, the definition of Algorithm 1 written as plainly as
 * it goes. Slow on purpose; production code uses {@link dev.scone.fgram.match.LevelwiseMatcher}.
 */
public final class BruteForceMatcher implements FgramMatcher {

    private final FgramVocabulary vocabulary;

    /** @param vocabulary the f-grams */
    public BruteForceMatcher(FgramVocabulary vocabulary) {
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
        for (int p = 0; p < len; p++) {
            int i = from + p;
            int id = NO_MATCH;
            for (int n = Math.min(vocabulary.maxN(), p + 1); n >= FgramVocabulary.MIN_N && id == NO_MATCH; n--) {
                id = vocabulary.find(tokens, i - n + 1, n);
            }
            out[outOffset + p] = id;
        }
    }
}
