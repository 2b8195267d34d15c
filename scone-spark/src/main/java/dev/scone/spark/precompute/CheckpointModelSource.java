package dev.scone.spark.precompute;

import ai.djl.ndarray.NDManager;
import dev.scone.core.LanguageModel;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.core.train.Checkpoint;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.spark.io.HadoopConf;
import dev.scone.spark.io.HadoopFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;

/**
 * A trainer checkpoint ({@link Checkpoint}) of a SCONE language model on any Hadoop-compatible
 * file system; an executor copies it to its local disk when it is elsewhere, and rebuilds the
 * model with {@link Checkpoint#loadModel} (which checks the file and that it was trained with
 * the vocabulary given).
 */
public final class CheckpointModelSource implements ModelSource {

    private static final long serialVersionUID = 1L;

    private final String checkpoint;
    private final HadoopConf conf;

    /**
     * @param checkpoint the checkpoint (Hadoop path or URI)
     * @param conf the Hadoop configuration to read it with
     */
    public CheckpointModelSource(String checkpoint, Configuration conf) {
        this.checkpoint = Objects.requireNonNull(checkpoint, "checkpoint");
        this.conf = new HadoopConf(Objects.requireNonNull(conf, "conf"));
    }

    @Override
    public SconeEmbeddingBlock load(FgramVocabulary vocabulary, NDManager manager) throws IOException {
        Path local = HadoopFiles.localPath(checkpoint, conf.get());
        Path copy = null;
        try {
            if (local == null) {
                copy = Files.createTempFile("scone-checkpoint", ".ckpt");
                HadoopFiles.download(checkpoint, copy, conf.get());
                local = copy;
            }
            LanguageModel model = (LanguageModel) Checkpoint.loadModel(local, LanguageModel.factory(vocabulary), manager);
            if (!model.isScone()) {
                throw new IllegalArgumentException("checkpoint " + checkpoint + " holds a baseline model, not a SCONE"
                        + " model: there is no f-gram model to precompute");
            }
            return model.sconeEmbedding();
        } finally {
            if (copy != null) {
                Files.deleteIfExists(copy);
            }
        }
    }

    @Override
    public String describe() {
        return "checkpoint " + checkpoint;
    }
}
