package dev.scone.examples;

import ai.djl.ndarray.NDManager;
import dev.scone.core.LanguageModel;
import dev.scone.core.train.Checkpoint;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Finding and loading what {@code scone train} wrote, shared by the commands that use a trained model. */
final class TrainedModels {

    private TrainedModels() {}

    /** A loaded model and the f-gram vocabulary it was read with (null for a baseline without one). */
    record Loaded(LanguageModel model, FgramVocabulary vocabulary, Path checkpoint, Checkpoint.Header header) {}

    /**
     * @param model a model folder (its {@code final.ckpt}, else {@code checkpoint.ckpt}) or a checkpoint file
     * @return the checkpoint file
     */
    static Path checkpointOf(Path model) {
        if (Files.isDirectory(model)) {
            for (String name : new String[] {"final.ckpt", "checkpoint.ckpt"}) {
                Path p = model.resolve(name);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("model folder " + model + " holds neither final.ckpt nor checkpoint.ckpt");
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("--model " + model + " is neither a model folder nor a checkpoint file");
        }
        return model;
    }

    /**
     * Loads a trained model with its parameters.
     *
     * @param model a model folder or checkpoint file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param manager owns the parameters
     * @return the model
     * @throws IOException when a file is missing or damaged, or the vocabulary is not the model's
     */
    static Loaded load(Path model, Path fgrams, NDManager manager) throws IOException {
        Path checkpoint = checkpointOf(model);
        Path vocabFile = fgrams != null ? fgrams : checkpoint.toAbsolutePath().getParent().resolve("fgrams.bin");
        FgramVocabulary vocabulary = Files.exists(vocabFile) ? FgramVocabularyFile.read(vocabFile) : null;
        Checkpoint.Loaded c = Checkpoint.load(checkpoint, LanguageModel.factory(vocabulary), manager);
        return new Loaded((LanguageModel) c.model(), vocabulary, checkpoint, c.header());
    }

    /**
     * Refuses an f-gram vocabulary other than the one a model was trained with: its training data's
     * signature, kept in the checkpoint, names the vocabulary's fingerprint. (A baseline's
     * matched/unmatched split by another corpus's vocabulary would say nothing about the model.)
     * The model must have been loaded with that vocabulary.
     *
     * @param model the loaded model (its checkpoint's header)
     * @param file where the vocabulary was read from
     * @throws dev.scone.fgram.io.SconeFormatException naming the file and both fingerprints when they differ
     */
    static void requireTrainedWith(Loaded model, Path file) throws dev.scone.fgram.io.SconeFormatException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:^| )fgrams=(\\S+)")
                .matcher(model.header().dataSignature());
        String fingerprint = model.vocabulary().fingerprint();
        if (m.find() && !m.group(1).equals("none") && !m.group(1).equals(fingerprint)) {
            throw new dev.scone.fgram.io.SconeFormatException(file, "is the f-gram vocabulary " + fingerprint
                    + ", but " + model.checkpoint() + " was trained with " + m.group(1));
        }
    }

    /**
     * Counts a trained model's parameters.
     *
     * @param model a model folder or checkpoint file
     * @return {parameters needed at inference (a SCONE model's A_fgram excluded: its output is read
     *     from the store), parameters trained in all}
     * @throws IOException when a file is missing or damaged
     */
    static long[] parameterCounts(Path model) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = load(model, null, m).model();
            long all = count(lm.block());
            long fgramModel = lm.isScone() ? count(lm.sconeEmbedding().fgramModel()) : 0;
            return new long[] {all - fgramModel, all};
        }
    }

    private static long count(ai.djl.nn.Block block) {
        long n = 0;
        for (var p : block.getParameters()) {
            n += p.getValue().getArray().size();
        }
        return n;
    }

    /**
     * The token vocabulary's fingerprint recorded in a store's manifest: the SHA-256 of the
     * compaction file when the token ids were compacted, else the uncompacted vocabulary's size.
     *
     * @param compaction the compaction file {@code scone tokenize --compact} wrote, or null
     * @param vocabularySize the model's token vocabulary size
     * @return the fingerprint
     * @throws IOException when the file cannot be read
     */
    static String tokenVocabularyFingerprint(Path compaction, int vocabularySize) throws IOException {
        if (compaction == null || !Files.exists(compaction)) {
            return "ids-0.." + (vocabularySize - 1);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(compaction),
                MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStreamSink.INSTANCE);
            return "compaction-sha256:" + HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Discards bytes. */
    private static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink INSTANCE = new OutputStreamSink();

        @Override
        public void write(int b) {}

        @Override
        public void write(byte[] b, int off, int len) {}
    }
}
