package dev.scone.fgram.corpus;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tokenizer over a {@link TokenCompaction}'s compact ids: encodes with the original tokenizer and
 * compacts; decodes runs of known ids with the original tokenizer and writes each unknown id as a
 * visible placeholder ({@link #DEFAULT_UNKNOWN_TEXT} unless chosen). Closing it closes the
 * original tokenizer.
 */
public final class CompactingTokenizer implements Tokenizer {

    /** The text an unknown id decodes to unless another is chosen. */
    public static final String DEFAULT_UNKNOWN_TEXT = "<unk>";

    private final Tokenizer base;
    private final TokenCompaction compaction;
    private final String unknownText;

    /**
     * @param base the original tokenizer (now owned by this one)
     * @param compaction a compaction of {@code base}'s vocabulary
     * @param unknownText what an unknown id decodes to
     * @throws IllegalArgumentException when the vocabulary sizes differ
     */
    public CompactingTokenizer(Tokenizer base, TokenCompaction compaction, String unknownText) {
        this.base = Objects.requireNonNull(base, "base");
        this.compaction = Objects.requireNonNull(compaction, "compaction");
        this.unknownText = Objects.requireNonNull(unknownText, "unknownText");
        if (base.vocabularySize() != compaction.originalVocabularySize()) {
            throw new IllegalArgumentException("tokenizer " + base.name() + " has " + base.vocabularySize()
                    + " ids but the compaction was fitted on " + compaction.originalVocabularySize());
        }
    }

    /**
     * @param base the original tokenizer (now owned by this one)
     * @param compaction a compaction of {@code base}'s vocabulary
     */
    public CompactingTokenizer(Tokenizer base, TokenCompaction compaction) {
        this(base, compaction, DEFAULT_UNKNOWN_TEXT);
    }

    /** @return the compaction */
    public TokenCompaction compaction() {
        return compaction;
    }

    @Override
    public String name() {
        return base.name() + "-top" + compaction.keep();
    }

    @Override
    public int vocabularySize() {
        return compaction.vocabularySize();
    }

    @Override
    public int[] encode(String text) {
        return compaction.compact(base.encode(text));
    }

    @Override
    public String decode(int[] ids) {
        Tokenizer.checkIds(ids, vocabularySize());
        StringBuilder sb = new StringBuilder();
        int[] run = new int[ids.length];
        int n = 0;
        for (int id : ids) {
            if (id == compaction.unknownId()) {
                if (n > 0) {
                    sb.append(base.decode(Arrays.copyOf(run, n)));
                    n = 0;
                }
                sb.append(unknownText);
            } else {
                run[n++] = compaction.original(id);
            }
        }
        if (n > 0) {
            sb.append(base.decode(Arrays.copyOf(run, n)));
        }
        return sb.toString();
    }

    @Override
    public void close() {
        base.close();
    }
}
