package dev.scone.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.scone.core.train.ModelFactory;
import dev.scone.core.train.TrainableModel;

/**
 * A stand-in language model with the scone input contract: token embedding plus (where a position
 * has an f-gram match) an f-gram embedding, dropout, and a linear output head. Input
 * NDList(tokenIds (B, T) int32, fgramIds (B, T) int32), output NDList(logits (B, T, V)).
 */
public final class TinyLmBlock extends AbstractBlock {

    /** The configuration text header. */
    public static final String HEADER = "tiny-lm v1";

    private final int vocabularySize;
    private final int embeddingSize;
    private final int fgramCount;
    private final float dropout;
    private final Parameter tokenEmbedding;
    private final Parameter fgramEmbedding;
    private final Parameter head;
    private final Parameter headBias;

    /**
     * @param vocabularySize V
     * @param embeddingSize E
     * @param fgramCount S (at least 1)
     * @param dropout dropout rate on the embeddings
     */
    public TinyLmBlock(int vocabularySize, int embeddingSize, int fgramCount, float dropout) {
        super((byte) 1);
        this.vocabularySize = vocabularySize;
        this.embeddingSize = embeddingSize;
        this.fgramCount = Math.max(1, fgramCount);
        this.dropout = dropout;
        tokenEmbedding = addParameter(Parameter.builder().setName("tokenEmbedding").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(vocabularySize, embeddingSize)).build());
        fgramEmbedding = addParameter(Parameter.builder().setName("fgramEmbedding").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(this.fgramCount, embeddingSize)).build());
        head = addParameter(Parameter.builder().setName("head").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(embeddingSize, vocabularySize)).build());
        headBias = addParameter(Parameter.builder().setName("headBias").setType(Parameter.Type.BIAS)
                .optShape(new Shape(vocabularySize)).build());
    }

    /** @return the configuration text */
    public String configText() {
        return HEADER + "\nV=" + vocabularySize + "\nE=" + embeddingSize + "\nS=" + fgramCount + "\ndropout=" + dropout
                + "\n";
    }

    /** @return the model wrapper the trainer takes */
    public TrainableModel asModel() {
        return TrainableModel.of(this, vocabularySize, configText());
    }

    /** @return a factory that reads {@link #configText()} */
    public static ModelFactory factory() {
        return text -> {
            String[] l = text.split("\n");
            if (!l[0].equals(HEADER)) {
                throw new IllegalArgumentException("not a tiny-lm configuration: " + l[0]);
            }
            return new TinyLmBlock(Integer.parseInt(l[1].substring(2)), Integer.parseInt(l[2].substring(2)),
                    Integer.parseInt(l[3].substring(2)), Float.parseFloat(l[4].substring(8))).asModel();
        };
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray tokens = inputs.get(0);
        NDArray fgrams = inputs.get(1);
        NDArray table = ps.getValue(tokenEmbedding, tokens.getDevice(), training);
        NDArray ftable = ps.getValue(fgramEmbedding, tokens.getDevice(), training);
        NDArray w = ps.getValue(head, tokens.getDevice(), training);
        NDArray b = ps.getValue(headBias, tokens.getDevice(), training);
        NDArray x = table.get(tokens.toType(DataType.INT64, false));
        NDArray matched = fgrams.gte(0);
        NDArray f = ftable.get(fgrams.maximum(0).toType(DataType.INT64, false));
        x = x.add(f.mul(matched.toType(DataType.FLOAT32, false).expandDims(-1)));
        if (dropout > 0) {
            x = Dropout.dropout(x, dropout, training).singletonOrThrow();
        }
        return new NDList(x.matMul(w).add(b));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), s.get(1), vocabularySize)};
    }
}
