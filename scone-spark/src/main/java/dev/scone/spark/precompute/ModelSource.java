package dev.scone.spark.precompute;

import ai.djl.ndarray.NDManager;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.io.Serializable;

/**
 * Where an executor gets the trained SCONE embedding block (T and A_fgram) from. Shipped to every
 * task; {@link #load} runs once per partition.
 */
public interface ModelSource extends Serializable {

    /**
     * Loads the trained block.
     *
     * @param vocabulary the f-gram vocabulary the model was trained with
     * @param manager where the parameters live (closed by the caller when the partition is done)
     * @return the initialized block
     * @throws IOException when the model cannot be read
     */
    SconeEmbeddingBlock load(FgramVocabulary vocabulary, NDManager manager) throws IOException;

    /** @return what the source is, for messages */
    String describe();
}
