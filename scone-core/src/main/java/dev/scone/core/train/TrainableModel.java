package dev.scone.core.train;

import ai.djl.nn.Block;

/**
 * A language model as the trainer sees it: a DJL block with the scone input contract and the text
 * of its configuration, from which a {@link ModelFactory} rebuilds the same architecture.
 *
 * <p>The block's forward takes NDList(tokenIds (B, T) int32, fgramIds (B, T) int32), where a
 * fgramId is the matched f-gram id of a position or -1, and returns NDList(logits (B, T, V)) with V
 * = {@link #tokenVocabularySize()}. A baseline model ignores the f-gram ids.
 */
public interface TrainableModel {

    /** @return the model's block (initialized or not; the trainer initializes it when needed) */
    Block block();

    /** @return V, the token vocabulary size of the logits */
    int tokenVocabularySize();

    /**
     * @return the model configuration in its own versioned text form, which {@link
     *     ModelFactory#fromConfigText(String)} turns back into the same architecture
     */
    String configText();

    /**
     * Wraps a block and its configuration text.
     *
     * @param block the block
     * @param tokenVocabularySize V
     * @param configText the configuration text
     * @return the model
     */
    static TrainableModel of(Block block, int tokenVocabularySize, String configText) {
        if (tokenVocabularySize < 1) {
            throw new IllegalArgumentException("tokenVocabularySize must be >= 1, got " + tokenVocabularySize);
        }
        java.util.Objects.requireNonNull(block, "block");
        java.util.Objects.requireNonNull(configText, "configText");
        return new TrainableModel() {
            @Override
            public Block block() {
                return block;
            }

            @Override
            public int tokenVocabularySize() {
                return tokenVocabularySize;
            }

            @Override
            public String configText() {
                return configText;
            }
        };
    }
}
