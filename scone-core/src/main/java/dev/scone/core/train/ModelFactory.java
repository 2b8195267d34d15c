package dev.scone.core.train;

/** Rebuilds a model (a fresh, uninitialized block) from its configuration text. */
@FunctionalInterface
public interface ModelFactory {

    /**
     * @param configText text written by {@link TrainableModel#configText()}
     * @return a model with the same architecture and fresh parameters
     * @throws IllegalArgumentException when the text is not a configuration this factory reads
     */
    TrainableModel fromConfigText(String configText);
}
