package dev.scone.examples;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.SconeFormatException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses token ids that come from another tokenizer or compaction than what they are used with,
 * by the origin their token-id file records ({@link TokenIdFile#origin()}). Files written by an
 * earlier scone record none: they are used unchecked, and the log says so once per file.
 */
final class TokenOrigins {

    private static final Logger LOG = LoggerFactory.getLogger(TokenOrigins.class);
    private static final Set<String> SAID = ConcurrentHashMap.newKeySet();

    private TokenOrigins() {}

    /**
     * Checks that two token-id files (a training and a held-out split, say) come from the same
     * tokenizer and compaction.
     *
     * @throws SconeFormatException naming the second file and both origins when they differ
     */
    static void requireSame(TokenIdFile first, TokenIdFile second) throws SconeFormatException {
        if (second == null || !recorded(first) || !recorded(second)) {
            return;
        }
        if (!first.origin().equals(second.origin())) {
            throw new SconeFormatException(second.path(), "its ids come from tokenizer " + second.origin().tokenizer()
                    + " and compaction " + second.origin().compactionOrNone() + ", but " + first.path()
                    + "'s from tokenizer " + first.origin().tokenizer() + " and compaction "
                    + first.origin().compactionOrNone() + ": they were not tokenized together");
        }
    }

    /**
     * Checks that a token-id file's ids were compacted by the compaction a model was trained with.
     *
     * @param file the token ids
     * @param modelCompaction the fingerprint of the model's compaction ({@link #fingerprintOf}),
     *     {@code "none"} for ids as the tokenizer gives them, or null when the model does not record
     *     it (a version-1 checkpoint: not checked)
     * @param model what the model is, for the message
     * @throws SconeFormatException naming the file and both compactions when they differ
     */
    static void requireCompaction(TokenIdFile file, String modelCompaction, Object model)
            throws SconeFormatException {
        if (modelCompaction == null || !recorded(file)) {
            return;
        }
        if (!file.origin().compactionOrNone().equals(modelCompaction)) {
            throw new SconeFormatException(file.path(), "its ids were compacted by compaction "
                    + file.origin().compactionOrNone() + ", but " + model + " was trained with compaction "
                    + modelCompaction);
        }
    }

    /**
     * @param compactionFile a compaction file's content, or null for none
     * @return its fingerprint as token-id files and checkpoints record it, or {@code "none"}
     */
    static String fingerprintOf(byte[] compactionFile) {
        return compactionFile == null ? "none" : TokenIdFile.fingerprint(compactionFile, 12);
    }

    /**
     * Checks that a compaction file given for a trained model (to label a store or carry into an
     * export) is the one its training ids were compacted by.
     *
     * @param compaction the file given, or null / missing for none
     * @param option the option that gave it
     * @param model the loaded model (a version-1 checkpoint records nothing: not checked)
     * @throws SconeFormatException naming the file (or the checkpoint) and both compactions when they differ
     * @throws java.io.IOException when the compaction file cannot be read
     */
    static void requireCompactionFile(java.nio.file.Path compaction, String option, TrainedModels.Loaded model)
            throws java.io.IOException {
        String trained = model.header().dataCompaction();
        java.nio.file.Path checkpoint = model.checkpoint();
        if (trained == null) {
            if (SAID.add(checkpoint.toAbsolutePath().toString())) {
                LOG.info("{} does not record the compaction it was trained on (written by an earlier scone): {} not"
                        + " checked", checkpoint, option);
            }
            return;
        }
        boolean given = compaction != null && java.nio.file.Files.exists(compaction);
        String fp = fingerprintOf(given ? java.nio.file.Files.readAllBytes(compaction) : null);
        if (!fp.equals(trained)) {
            throw new SconeFormatException(given ? compaction : checkpoint, given
                    ? "is compaction " + fp + ", but " + checkpoint + " was trained on ids compacted by "
                            + (trained.equals("none") ? "none (give no " + option + ")" : trained)
                    : "was trained on ids compacted by " + trained + ": give that compaction file as " + option
                            + (compaction != null ? " (" + compaction + " does not exist)" : ""));
        }
    }

    /**
     * Checks that an f-gram vocabulary was counted on ids from the same tokenizer and compaction
     * as a token-id file's, so that its f-grams mean the same tokens.
     *
     * @param vocabularyFile the vocabulary file, named in the message
     * @param on the corpus it records ({@link dev.scone.fgram.vocab.FgramVocabularyFile#readContents}), or null
     * @param file the token ids it is used with
     * @throws SconeFormatException naming the vocabulary file and both origins when they differ
     */
    static void requireCountedLike(java.nio.file.Path vocabularyFile,
            dev.scone.fgram.vocab.FgramVocabularyFile.CountedOn on, TokenIdFile file) throws SconeFormatException {
        if (on == null || on.origin() == null) {
            if (SAID.add(vocabularyFile.toAbsolutePath().toString())) {
                LOG.info("{} does not record the corpus it was counted on (written by an earlier scone): not"
                        + " checked", vocabularyFile);
            }
            return;
        }
        if (!recorded(file)) {
            return;
        }
        if (!on.origin().equals(file.origin())) {
            throw new SconeFormatException(vocabularyFile, "was counted on ids from tokenizer "
                    + on.origin().tokenizer() + " and compaction " + on.origin().compactionOrNone() + ", but "
                    + file.path() + " holds ids from tokenizer " + file.origin().tokenizer() + " and compaction "
                    + file.origin().compactionOrNone());
        }
    }

    private static boolean recorded(TokenIdFile f) {
        if (f.origin() != null) {
            return true;
        }
        if (SAID.add(f.path().toAbsolutePath().toString())) {
            LOG.info("{} does not record its tokenizer and compaction (written by an earlier scone): not checked",
                    f.path());
        }
        return false;
    }
}
