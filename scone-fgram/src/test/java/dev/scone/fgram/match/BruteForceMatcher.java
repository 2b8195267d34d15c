package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/** The reference matcher: for each position, tries lengths K..2 with {@link FgramVocabulary#find}. */
final class BruteForceMatcher implements FgramMatcher {

    private final FgramVocabulary vocabulary;

    BruteForceMatcher(FgramVocabulary vocabulary) {
        this.vocabulary = vocabulary;
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
            for (int n = Math.min(vocabulary.maxN(), p + 1); n >= 2 && id == NO_MATCH; n--) {
                id = vocabulary.find(tokens, i - n + 1, n);
            }
            out[outOffset + p] = id;
        }
    }
}
