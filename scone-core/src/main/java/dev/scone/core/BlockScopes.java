package dev.scone.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/** Where a block's parameters live while a step or an inference pass runs. */
public final class BlockScopes {

    private BlockScopes() {}

    /**
     * Temporarily moves every parameter array into {@code scope}, so that arrays a block creates
     * from its parameters during one step are freed with the step; the parameters go back to their
     * own manager when {@code scope} closes.
     *
     * @param block the block
     * @param scope the step's manager
     */
    public static void attachParameters(Block block, NDManager scope) {
        // A parameter shared by two child blocks is listed twice: attach it once, or its original
        // manager would be forgotten.
        Set<NDArray> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().isInitialized() && seen.add(p.getValue().getArray())) {
                p.getValue().getArray().tempAttach(scope);
            }
        }
    }

    /**
     * @param block a block with at least one initialized parameter
     * @return the manager its first initialized parameter lives in
     * @throws IllegalArgumentException when no parameter is initialized
     */
    public static NDManager parameterManager(Block block) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().isInitialized()) {
                return p.getValue().getArray().getManager();
            }
        }
        throw new IllegalArgumentException("the block has no initialized parameter: initialize or load it first");
    }
}
