package dev.scone.core;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A language-model block whose logits are its last hidden states times an output weight:
 * {@code logits (B, T, V) = hidden (B, T, E) x weight (V, E)^T}. Knowing the factorisation lets
 * the trainer and the evaluation compute the next-token cross-entropy a few hundred rows at a time
 * ({@code dev.scone.core.train.ChunkedCrossEntropy}) instead of materialising the (B * T, V)
 * logits, their log-softmax and the gradients of both.
 *
 * <p>{@link CausalLanguageModelBlock} implements it; {@code forward} stays the block's contract
 * and equals {@code linear(hiddenStates(...), outputWeight(...))}.
 */
public interface LinearHeadModel {

    /**
     * Runs the model up to, not including, the output projection.
     *
     * @param ps the parameter store
     * @param inputs as for the block's forward
     * @param training whether this is a training pass
     * @param params as for the block's forward (may carry {@link HostIds}); may be {@code null}
     * @return the hidden states (B, T, E), attached to the token ids' manager
     */
    NDArray hiddenStates(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params);

    /**
     * @param ps the parameter store
     * @param device where the weight is wanted
     * @param training whether this is a training pass (the weight then records its gradient)
     * @return the output projection's weight (V, E)
     */
    NDArray outputWeight(ParameterStore ps, Device device, boolean training);
}
