package dev.scone.core;

import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.ModelFactory;
import dev.scone.core.train.TrainableModel;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.io.KeyValueText;
import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.match.LevelwiseMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/**
 * A {@link CausalLanguageModelBlock} bound to the training machinery: a baseline, or a SCONE model
 * together with the f-gram vocabulary it was built over. Its configuration text records the
 * architecture ({@link LanguageModelConfig}) and, for a SCONE model, the vocabulary's fingerprint,
 * K and S, so that a checkpoint can never be resumed or loaded with another vocabulary.
 *
 * <p>Configuration text (version 1): the line {@code scone-model v1}, then
 * {@code fgrams.fingerprint=}, {@code fgrams.maxN=}, {@code fgrams.size=} (a SCONE model only),
 * then {@link LanguageModelConfig#toText()} (which carries its own checksum).
 */
public final class LanguageModel implements TrainableModel {

    /** The first line of the configuration text. */
    public static final String HEADER = "scone-model v1";

    private final CausalLanguageModelBlock block;
    private final FgramVocabulary vocabulary;

    private LanguageModel(CausalLanguageModelBlock block, FgramVocabulary vocabulary) {
        this.block = block;
        this.vocabulary = vocabulary;
    }

    /**
     * A fresh baseline model (input embedding T alone).
     *
     * @param config the architecture; its f-gram model must be {@code null}
     * @return the model, uninitialized
     */
    public static LanguageModel baseline(LanguageModelConfig config) {
        Objects.requireNonNull(config, "config");
        if (config.isScone()) {
            throw new IllegalArgumentException("a baseline configuration has no f-gram model, got "
                    + config.fgramModel());
        }
        return new LanguageModel(CausalLanguageModelBlock.baseline(config), null);
    }

    /**
     * A fresh SCONE model (input embedding T + A_fgram over {@code vocabulary}).
     *
     * @param config the architecture, with an f-gram model whose K is at least the vocabulary's
     * @param vocabulary V_fgram over the model's token vocabulary
     * @return the model, uninitialized
     */
    public static LanguageModel scone(LanguageModelConfig config, FgramVocabulary vocabulary) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(vocabulary, "vocabulary");
        return new LanguageModel(CausalLanguageModelBlock.scone(config, vocabulary), vocabulary);
    }

    /**
     * A fresh model of the kind the configuration describes.
     *
     * @param config the architecture
     * @param vocabulary V_fgram for a SCONE configuration; ignored (may be null) for a baseline
     * @return the model, uninitialized
     */
    public static LanguageModel of(LanguageModelConfig config, FgramVocabulary vocabulary) {
        return config.isScone() ? scone(config, vocabulary) : baseline(config);
    }

    /**
     * The matcher every pipeline step uses to pre-scan windows for f-grams; the one place where
     * the matching algorithm is chosen.
     *
     * @param vocabulary V_fgram
     * @return an exact longest-suffix matcher over it
     */
    public static FgramMatcher matcherFor(FgramVocabulary vocabulary) {
        return LevelwiseMatcher.of(vocabulary);
    }

    /**
     * Windows of a corpus for training or evaluation, pre-scanned for f-grams when a vocabulary is
     * given (also for a baseline, so that its perplexity splits by matched and unmatched positions).
     *
     * @param corpus the token corpus
     * @param contextLength T
     * @param vocabulary V_fgram, or {@code null} for no pre-scan
     * @return the dataset
     */
    public static WindowDataset windows(TokenCorpus corpus, int contextLength, FgramVocabulary vocabulary) {
        WindowDataset.Builder b = WindowDataset.builder(corpus, contextLength);
        if (vocabulary != null) {
            b.optFgrams(vocabulary, matcherFor(vocabulary));
        }
        return b.build();
    }

    /**
     * Rebuilds models from configuration text, checking a SCONE model's recorded vocabulary against
     * {@code vocabulary}.
     *
     * @param vocabulary the f-gram vocabulary at hand, or {@code null}; required (and must match)
     *     for SCONE models, ignored for baselines
     * @return the factory
     */
    public static ModelFactory factory(FgramVocabulary vocabulary) {
        return text -> {
            Spec spec = Spec.parse(text);
            if (spec.config().isScone()) {
                spec.requireVocabulary(vocabulary);
            }
            return of(spec.config(), vocabulary);
        };
    }

    /** @return the model's block */
    @Override
    public CausalLanguageModelBlock block() {
        return block;
    }

    /** @return the architecture */
    public LanguageModelConfig config() {
        return block.config();
    }

    /** @return whether this is a SCONE model */
    public boolean isScone() {
        return vocabulary != null;
    }

    /** @return V_fgram of a SCONE model, or {@code null} for a baseline */
    public FgramVocabulary vocabulary() {
        return vocabulary;
    }

    /**
     * @return the SCONE input embedding (T, A_fgram, V_fgram), for switching to an inference table
     * @throws IllegalStateException for a baseline
     */
    public SconeEmbeddingBlock sconeEmbedding() {
        if (!(block.inputEmbedding() instanceof SconeEmbeddingBlock s)) {
            throw new IllegalStateException("a baseline model has no SCONE embedding");
        }
        return s;
    }

    @Override
    public int tokenVocabularySize() {
        return block.config().vocabularySize();
    }

    @Override
    public String configText() {
        return spec().toText();
    }

    /** @return what the configuration text records */
    public Spec spec() {
        return vocabulary == null ? new Spec(config(), null, 0, 0)
                : new Spec(config(), vocabulary.fingerprint(), vocabulary.maxN(), vocabulary.size());
    }

    /**
     * Checks that windows fit this model: same token vocabulary and context, and for a SCONE model
     * pre-scanned with this model's f-gram vocabulary.
     *
     * @param what how to name the data in a message ("training", "held-out")
     * @param data the windows
     * @throws IllegalArgumentException naming the mismatch
     */
    public void requireCompatible(String what, WindowDataset data) {
        if (data.corpus().vocabularySize() != tokenVocabularySize()) {
            throw new IllegalArgumentException(what + " data has token vocabulary size "
                    + data.corpus().vocabularySize() + " but the model has " + tokenVocabularySize());
        }
        if (data.contextLength() > config().contextLength()) {
            throw new IllegalArgumentException(what + " windows have " + data.contextLength()
                    + " positions but the model's context length is " + config().contextLength());
        }
        if (vocabulary != null) {
            FgramVocabulary v = data.fgramVocabulary();
            if (v == null || !v.fingerprint().equals(vocabulary.fingerprint())) {
                throw new IllegalArgumentException(what + " windows were pre-scanned with f-gram vocabulary "
                        + (v == null ? "none" : v.fingerprint()) + " but the model uses " + vocabulary.fingerprint());
            }
        }
    }

    /**
     * What a model's configuration text records.
     *
     * @param config the architecture
     * @param fgramFingerprint the f-gram vocabulary's fingerprint for a SCONE model, else {@code null}
     * @param fgramMaxN the vocabulary's K (0 for a baseline)
     * @param fgramCount the vocabulary's S (0 for a baseline)
     */
    public record Spec(LanguageModelConfig config, String fgramFingerprint, int fgramMaxN, int fgramCount) {

        /** Checks that a SCONE configuration carries its vocabulary's identity and a baseline none. */
        public Spec {
            Objects.requireNonNull(config, "config");
            if (config.isScone() != (fgramFingerprint != null)) {
                throw new IllegalArgumentException(config.isScone()
                        ? "a SCONE model's configuration lacks its f-gram vocabulary fingerprint"
                        : "a baseline configuration must not name an f-gram vocabulary");
            }
            if (config.isScone() && (fgramMaxN < FgramVocabulary.MIN_N || fgramCount < 1)) {
                throw new IllegalArgumentException("bad f-gram vocabulary size: K = " + fgramMaxN + ", S = "
                        + fgramCount);
            }
        }

        /**
         * @return the configuration text (see {@link LanguageModel}): in scone's
         *     {@link KeyValueText} form, a header line and the f-gram vocabulary's identity, then
         *     the configuration's own sealed text
         */
        public String toText() {
            KeyValueText.Builder b = KeyValueText.builder(HEADER);
            if (fgramFingerprint != null) {
                b.put("fgrams.fingerprint", fgramFingerprint).put("fgrams.maxN", fgramMaxN).put("fgrams.size", fgramCount);
            }
            return b.toText(KeyValueText.Seal.NONE) + config.toText();
        }

        /**
         * Parses {@link #toText()}.
         *
         * @param text the configuration text
         * @return the specification
         * @throws IllegalArgumentException when the text is not a version-1 model configuration,
         *     naming the problem
         */
        public static Spec parse(String text) {
            Objects.requireNonNull(text, "text");
            int cut = text.indexOf('\n') + 1; // the header, then the f-gram lines, then the configuration's text
            while (cut > 0 && text.startsWith("fgrams.", cut)) {
                cut = text.indexOf('\n', cut) + 1;
            }
            KeyValueText head;
            try {
                head = KeyValueText.parse(cut > 0 ? text.substring(0, cut) : text, HEADER, KeyValueText.Seal.NONE);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("model configuration: " + e.getMessage(), e);
            }
            for (String key : head.keys()) {
                if (!key.equals("fgrams.fingerprint") && !key.equals("fgrams.maxN") && !key.equals("fgrams.size")) {
                    throw new IllegalArgumentException("unknown model configuration key '" + key + "'");
                }
            }
            String fingerprint = head.has("fgrams.fingerprint") ? head.string("fgrams.fingerprint").strip() : null;
            int maxN = head.has("fgrams.maxN") ? head.integer("fgrams.maxN") : 0;
            int size = head.has("fgrams.size") ? head.integer("fgrams.size") : 0;
            return new Spec(LanguageModelConfig.fromText(cut > 0 ? text.substring(cut) : ""), fingerprint, maxN, size);
        }

        /**
         * Checks that {@code vocabulary} is the one this SCONE model was trained with.
         *
         * @param vocabulary the vocabulary at hand (may be null)
         * @throws IllegalArgumentException naming both vocabularies when they differ or none is given
         */
        public void requireVocabulary(FgramVocabulary vocabulary) {
            String recorded = "f-gram vocabulary " + fgramFingerprint + " (K = " + fgramMaxN + ", S = " + fgramCount
                    + ")";
            if (vocabulary == null) {
                throw new IllegalArgumentException("this SCONE model was trained with " + recorded
                        + ": give that vocabulary");
            }
            if (!vocabulary.fingerprint().equals(fgramFingerprint)) {
                throw new IllegalArgumentException("this SCONE model was trained with " + recorded
                        + " but the vocabulary given is " + vocabulary.fingerprint() + " (K = " + vocabulary.maxN()
                        + ", S = " + vocabulary.size() + ")");
            }
        }
    }
}
