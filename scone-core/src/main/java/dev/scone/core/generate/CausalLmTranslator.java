package dev.scone.core.generate;

import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

/**
 * The translator of a predictor over a {@link CausalLmAdapterBlock}, the type DJL's
 * {@link ai.djl.modality.nlp.generate.TextGenerator} takes ({@code Predictor<NDList,
 * CausalLMOutput>}): the search's {@code NDList(inputIds, positionIds, attentionMask, past...)} goes
 * to the block as it is, and the block's {@code NDList(logits, hidden, past...)} comes back as a
 * {@link CausalLMOutput} with the hidden state that contrastive search needs.
 *
 * <p>The output arrays stay in the manager of the search's input ids (where the block puts them),
 * not in the predictor context's manager, which closes after each call. Stateless: one instance may
 * serve several predictors.
 */
public final class CausalLmTranslator implements NoBatchifyTranslator<NDList, CausalLMOutput> {

    /** Creates the translator. */
    public CausalLmTranslator() {}

    /**
     * @param ctx the predictor's context
     * @param input {@code NDList(inputIds (B, t), positionIds (B, t), attentionMask (B, L + t), past...)}
     * @return the same list, for the block
     * @throws IllegalArgumentException when it holds fewer than three arrays
     */
    @Override
    public NDList processInput(TranslatorContext ctx, NDList input) {
        if (input.size() < 3) {
            throw new IllegalArgumentException("expected NDList(inputIds, positionIds, attentionMask, past...), got "
                    + input.size() + " arrays");
        }
        return input;
    }

    /**
     * @param ctx the predictor's context
     * @param output the block's {@code NDList(logits (B, t, V), hidden (B, t, E), past...)}
     * @return the logits, the hidden state and the past list
     * @throws IllegalArgumentException when it holds fewer than two arrays
     */
    @Override
    public CausalLMOutput processOutput(TranslatorContext ctx, NDList output) {
        if (output.size() < 2) {
            throw new IllegalArgumentException("expected NDList(logits, hidden, past...) from the block, got "
                    + output.size() + " arrays");
        }
        return new CausalLMOutput(output.get(0), output.get(1), output.subNDList(2));
    }
}
