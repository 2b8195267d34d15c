package dev.scone.fgram.corpus;

/**
 * Turns text into token ids in {@code [0, vocabularySize())} and back. Implementations are safe to
 * call from several threads at once; whoever opens one closes it (some hold native memory).
 */
public interface Tokenizer extends AutoCloseable {

    /** @return a short name saying which vocabulary this is, e.g. {@code gpt2} */
    String name();

    /** @return the number of token ids; every id {@link #encode} returns is below it */
    int vocabularySize();

    /**
     * Encodes text without adding special tokens, truncating or padding.
     *
     * @param text the text (may be empty)
     * @return the token ids
     * @throws IllegalStateException when the tokenizer has been closed
     */
    int[] encode(String text);

    /**
     * Decodes token ids back to text.
     *
     * @param ids token ids, each in {@code [0, vocabularySize())}
     * @return the text
     * @throws IllegalArgumentException when an id is out of range, naming it and its position
     * @throws IllegalStateException when the tokenizer has been closed
     */
    String decode(int[] ids);

    /** Releases what the tokenizer holds; later calls to encode or decode fail. */
    @Override
    void close();

    /**
     * Checks that every id is in {@code [0, vocabularySize)}.
     *
     * @param ids the ids
     * @param vocabularySize the bound
     * @throws IllegalArgumentException naming the first offending id and its position
     */
    static void checkIds(int[] ids, int vocabularySize) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabularySize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocabularySize + ")");
            }
        }
    }
}
