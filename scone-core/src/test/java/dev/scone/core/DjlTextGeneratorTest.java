package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.modality.nlp.generate.SearchConfig;
import ai.djl.modality.nlp.generate.TextGenerator;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import dev.scone.core.generate.CausalLmAdapterBlock;
import dev.scone.core.generate.CausalLmTranslator;
import dev.scone.core.generate.IncrementalDecoder;
import dev.scone.core.generate.Sampling;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DJL's {@link TextGenerator} (greedy, beam and contrastive search) driving scone's inference models
 * through {@link CausalLmAdapterBlock} and {@link CausalLmTranslator}: the same tokens and logits as
 * scone's own decoding, and the SCONE token state carried with DJL's reordered past lists.
 */
class DjlTextGeneratorTest {

    private static final float TOLERANCE = 1e-5f;
    /** DJL's default pad token id: outside the fixtures' vocabulary, which the adapter allows on padding. */
    private static final long PAD = 50256;
    /** Two prompts of different lengths, with f-grams (4 5, 10 11 12, 5 6 7) inside and at their ends. */
    private static final int[][] PROMPTS = {{4, 1, 2}, {9, 10, 11, 12, 5, 6}};
    /** Initial weights under which greedy, beam and contrastive search each feed a token that matches an f-gram. */
    private static final long SEED = 5;

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();

    /** A table that counts the matches it finds on last positions (the adapter's lookups). */
    static final class CountingTable implements FgramEmbeddingTable {
        final FgramEmbeddingTable delegate;
        final List<int[]> lastLookups = new ArrayList<>(); // per call: rows, matched

        CountingTable(FgramEmbeddingTable delegate) {
            this.delegate = delegate;
        }

        @Override
        public int embeddingSize() {
            return delegate.embeddingSize();
        }

        @Override
        public int maxN() {
            return delegate.maxN();
        }

        @Override
        public long size() {
            return delegate.size();
        }

        @Override
        public String fgramModelFingerprint() {
            return delegate.fgramModelFingerprint();
        }

        @Override
        public int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths) {
            return delegate.lookup(tokenIds, rows, length, vectors, matchLengths);
        }

        @Override
        public int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors,
                int[] matchLengths) {
            int matched = delegate.lookupLast(tokenIds, offsets, lengths, rows, vectors, matchLengths);
            lastLookups.add(new int[] {rows, matched});
            return matched;
        }

        @Override
        public void close() {
            delegate.close();
        }
    }

    private record Served(CausalLanguageModelBlock lm, CountingTable table) {}

    private Served served(NDManager m, boolean scone, long seed) {
        LanguageModel trained = LanguageModel.of(Fixtures.config(scone, false), vocabulary);
        Fixtures.initialize(trained.block(), m, seed, 1, 4);
        CountingTable table = scone
                ? new CountingTable(InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 4)) : null;
        return new Served(InferenceModel.fromTrained(trained, table, "test", m).block(), table);
    }

    /** One predictor call as the model saw it. */
    record Call(int rows, int[][] sequences, float[][] lastLogits) {}

    /**
     * Records every call: each row's sequence (for a SCONE model: the tokens the token entry carries,
     * then the new ones, padding left out) and its logits after the last position.
     */
    static final class Recorder implements NoBatchifyTranslator<NDList, CausalLMOutput> {
        final CausalLmTranslator inner = new CausalLmTranslator();
        final boolean scone;
        final List<Call> calls = new ArrayList<>();
        private int[][] pending;

        Recorder(boolean scone) {
            this.scone = scone;
        }

        @Override
        public NDList processInput(TranslatorContext ctx, NDList input) {
            long[] ids = input.get(0).toLongArray();
            long[] mask = input.get(2).toLongArray();
            int b = (int) input.get(0).getShape().get(0);
            int t = (int) input.get(0).getShape().get(1);
            int keys = (int) input.get(2).getShape().get(1);
            int cached = keys - t;
            float[] entry = new float[0];
            if (scone && cached > 0) {
                try (NDArray e = input.get(input.size() - 1).get(":, 0, :, 0")) {
                    entry = e.toFloatArray();
                }
            }
            pending = new int[b][];
            for (int r = 0; r < b; r++) {
                List<Integer> seq = new ArrayList<>();
                for (int j = 0; j < cached; j++) {
                    float v = entry.length == 0 ? Float.NaN : entry[r * cached + j];
                    if (mask[r * keys + j] != 0) {
                        seq.add((int) v);
                    } else if (scone) {
                        assertEquals(-1f, v, "the token entry on padding, row " + r + ", position " + j);
                    }
                }
                for (int i = 0; i < t; i++) {
                    if (mask[r * keys + cached + i] != 0) {
                        seq.add((int) ids[r * t + i]);
                    }
                }
                pending[r] = seq.stream().mapToInt(Integer::intValue).toArray();
            }
            return inner.processInput(ctx, input);
        }

        @Override
        public CausalLMOutput processOutput(TranslatorContext ctx, NDList output) {
            int b = (int) output.get(0).getShape().get(0);
            float[][] last = new float[b][];
            try (NDArray l = output.get(0).get(":, -1, :")) {
                for (int r = 0; r < b; r++) {
                    try (NDArray row = l.get(r)) {
                        last[r] = row.toFloatArray();
                    }
                }
            }
            calls.add(new Call(b, scone || calls.isEmpty() ? pending : null, last));
            return inner.processOutput(ctx, output);
        }
    }

    private static SearchConfig config(int maxSeqLength) {
        SearchConfig c = new SearchConfig();
        c.setMaxSeqLength(maxSeqLength);
        c.setPadTokenId(PAD);
        return c;
    }

    /** Runs one DJL search over the prompts, left-padded with {@link #PAD}; returns its (R, S) output. */
    private static long[][] djl(CausalLanguageModelBlock lm, Translator<NDList, CausalLMOutput> translator,
            String search, SearchConfig config, NDManager io, int[][] prompts) throws Exception {
        try (Model model = Model.newInstance("scone", Device.cpu())) {
            model.setBlock(new CausalLmAdapterBlock(lm));
            try (Predictor<NDList, CausalLMOutput> predictor = model.newPredictor(translator);
                    NDManager scope = io.newSubManager()) {
                NDArray out = new TextGenerator(predictor, search, config).generate(scope.create(padded(prompts)));
                long[] flat = out.toLongArray();
                int rows = (int) out.getShape().get(0);
                int s = (int) out.getShape().get(1);
                long[][] result = new long[rows][];
                for (int r = 0; r < rows; r++) {
                    result[r] = Arrays.copyOfRange(flat, r * s, (r + 1) * s);
                }
                return result;
            }
        }
    }

    private static long[][] padded(int[][] prompts) {
        int t = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
        long[][] out = new long[prompts.length][t];
        for (int r = 0; r < prompts.length; r++) {
            Arrays.fill(out[r], PAD);
            for (int i = 0; i < prompts[r].length; i++) {
                out[r][t - prompts[r].length + i] = prompts[r][i];
            }
        }
        return out;
    }

    /** A row of a search's output without its left padding. */
    private static int[] unpadded(long[] row) {
        int i = 0;
        while (i < row.length && row[i] == PAD) {
            i++;
        }
        return Arrays.stream(row, i, row.length).mapToInt(x -> (int) x).toArray();
    }

    /** The logits after the last token of a sequence, by a full forward pass over it alone. */
    private static float[] full(NDManager m, CausalLanguageModelBlock lm, int[] seq) {
        try (NDManager s = m.newSubManager()) {
            NDList in = new NDList(s.create(seq, new Shape(1, seq.length)));
            NDArray logits = lm.forward(new ParameterStore(s, false), in, false).singletonOrThrow();
            return logits.get(0, seq.length - 1).toFloatArray();
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        float diff = Fixtures.maxAbsDiff(expected, actual);
        assertTrue(diff <= TOLERANCE, what + ": logits differ by " + diff);
    }

    private static int[] concat(int[] a, long[] b, int from, int to) {
        int[] out = Arrays.copyOf(a, a.length + to - from);
        for (int i = from; i < to; i++) {
            out[a.length + i - from] = (int) b[i];
        }
        return out;
    }

    private static int[] dropLast(int[] a) {
        return Arrays.copyOf(a, a.length - 1);
    }

    private static boolean contains(int[][] rows, int from, int to, int[] seq) {
        for (int r = from; r < to; r++) {
            if (Arrays.equals(rows[r], seq)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void greedySearchGivesSconesTokensAndTheDecodersLogits() throws Exception {
        for (boolean scone : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                Served s = served(m, scone, SEED);
                int t0 = 6;
                int maxSeqLength = Fixtures.CONTEXT + 1; // the longest sequence feeds exactly C tokens
                int n = maxSeqLength - t0;
                Recorder rec = new Recorder(scone);
                long[][] out = djl(s.lm(), rec, "greedy", config(maxSeqLength), m, PROMPTS);
                // The adapter's lookups at steps (the first one is the prefill's), before scone's own decoding.
                int stepMatches = scone ? s.table().lastLookups.stream().skip(1).mapToInt(x -> x[1]).sum() : 0;
                List<dev.scone.core.generate.TextGenerator.Generation> own = dev.scone.core.generate.TextGenerator
                        .builder().setModel(s.lm()).setManager(m).setSeed(1).build()
                        .generate(PROMPTS, n, Sampling.greedy());
                long[][] pad = padded(PROMPTS);
                for (int r = 0; r < PROMPTS.length; r++) {
                    assertEquals(maxSeqLength, out[r].length);
                    assertArrayEquals(pad[r], Arrays.copyOf(out[r], t0), "prompt " + r);
                    assertArrayEquals(own.get(r).tokens(), unpadded(Arrays.copyOfRange(out[r], t0, maxSeqLength)),
                            scone + ": DJL's greedy tokens of row " + r);
                }
                // One prefill and n - 1 steps, each equal to scone's incremental decoder fed DJL's tokens.
                assertEquals(n, rec.calls.size());
                try (IncrementalDecoder d = new IncrementalDecoder(s.lm(), m)) {
                    float[] logits = d.prefill(PROMPTS);
                    for (int c = 0; c < n; c++) {
                        if (c > 0) {
                            int[] next = {(int) out[0][t0 + c - 1], (int) out[1][t0 + c - 1]};
                            logits = d.step(next);
                        }
                        for (int r = 0; r < PROMPTS.length; r++) {
                            float[] row = Arrays.copyOfRange(logits, r * Fixtures.V, (r + 1) * Fixtures.V);
                            assertClose(row, rec.calls.get(c).lastLogits()[r], scone + " call " + c + " row " + r);
                            if (scone) {
                                assertArrayEquals(concat(PROMPTS[r], out[r], t0, t0 + c),
                                        rec.calls.get(c).sequences()[r], "tokens carried at call " + c + " row " + r);
                            }
                        }
                    }
                }
                if (scone) {
                    assertTrue(stepMatches > 0, "no new token matched an f-gram: choose a seed whose greedy tokens do");
                }
            }
        }
    }

    @Test
    void beamOfOneAndContrastiveWithOneCandidateOrNoPenaltyAreGreedy() throws Exception {
        for (boolean scone : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                CausalLanguageModelBlock lm = served(m, scone, 12).lm();
                int maxSeqLength = 12;
                long[][] greedy = djl(lm, new CausalLmTranslator(), "greedy", config(maxSeqLength), m, PROMPTS);
                SearchConfig beam = config(maxSeqLength);
                beam.setBeam(1);
                SearchConfig oneCandidate = config(maxSeqLength);
                oneCandidate.setK(1);
                SearchConfig noPenalty = config(maxSeqLength);
                noPenalty.setAlpha(0f);
                assertArrayEquals(greedy, djl(lm, new CausalLmTranslator(), "beam", beam, m, PROMPTS),
                        scone + " beam 1");
                assertArrayEquals(greedy, djl(lm, new CausalLmTranslator(), "contrastive", oneCandidate, m, PROMPTS),
                        scone + " contrastive k = 1");
                assertArrayEquals(greedy, djl(lm, new CausalLmTranslator(), "contrastive", noPenalty, m, PROMPTS),
                        scone + " contrastive alpha = 0");
            }
        }
    }

    @Test
    void beamSearchCarriesEachBeamsTokens() throws Exception {
        beamSearch(false, SEED);
        assertTrue(beamSearch(true, SEED) > 0, "no new token of any beam matched an f-gram: choose a seed whose"
                + " beams do, or the test cannot see a misrouted token entry");
    }

    /** Beam search of 3 beams over {@link #PROMPTS}, checked call by call; returns the matches at steps. */
    private int beamSearch(boolean scone, long seed) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Served s = served(m, scone, seed);
            int beams = 3;
            int t0 = 6;
            int maxSeqLength = Fixtures.CONTEXT + 1;
            SearchConfig config = config(maxSeqLength);
            config.setBeam(beams);
            Recorder rec = new Recorder(scone);
            long[][] out = djl(s.lm(), rec, "beam", config, m, PROMPTS);
            long[][] pad = padded(PROMPTS);
            assertEquals(PROMPTS.length * beams, out.length);
            for (int r = 0; r < out.length; r++) {
                assertEquals(maxSeqLength, out[r].length);
                assertArrayEquals(pad[r / beams], Arrays.copyOf(out[r], t0), "prompt of beam " + r);
            }
            // The prefill gives the first tokens; each step call one more.
            assertEquals(maxSeqLength - t0, rec.calls.size());
            if (!scone) {
                return 0;
            }
            boolean reordered = false;
            for (int c = 0; c < rec.calls.size(); c++) {
                Call call = rec.calls.get(c);
                assertEquals(c == 0 ? PROMPTS.length : PROMPTS.length * beams, call.rows());
                for (int r = 0; r < call.rows(); r++) {
                    int[] seq = call.sequences()[r];
                    // The cache and the token entry were reordered together: the logits are the model's over
                    // the tokens the entry carries.
                    assertClose(full(m, s.lm(), seq), call.lastLogits()[r], "call " + c + " row " + r);
                    if (c == 0) {
                        assertArrayEquals(PROMPTS[r], seq);
                    } else if (c == 1) {
                        assertArrayEquals(PROMPTS[r / beams], dropLast(seq));
                    } else {
                        int[][] before = rec.calls.get(c - 1).sequences();
                        int g = r / beams;
                        assertTrue(contains(before, g * beams, (g + 1) * beams, dropLast(seq)),
                                "call " + c + " row " + r + " continues a beam of its prompt");
                        reordered |= !Arrays.equals(before[r], dropLast(seq));
                    }
                }
            }
            assertTrue(reordered, "the beams were never reordered: the test would not see a misrouted entry");
            int[][] last = rec.calls.get(rec.calls.size() - 1).sequences();
            for (int r = 0; r < out.length; r++) {
                int g = r / beams;
                assertTrue(contains(last, g * beams, (g + 1) * beams, dropLast(unpadded(out[r]))),
                        "output " + r + " extends a beam of the last call");
            }
            return s.table().lastLookups.stream().skip(1).mapToInt(x -> x[1]).sum();
        }
    }

    @Test
    void contrastiveSearchCarriesTheSelectedCandidatesTokens() throws Exception {
        contrastiveSearch(false, SEED);
        assertTrue(contrastiveSearch(true, SEED) > 0, "no candidate matched an f-gram: choose a seed whose"
                + " candidates do, or the test cannot see a misrouted token entry");
    }

    /** Contrastive search (k = 4, alpha = 0.6) over {@link #PROMPTS}, checked call by call; returns step matches. */
    private int contrastiveSearch(boolean scone, long seed) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Served s = served(m, scone, seed);
            int k = 4;
            int t0 = 6;
            int maxSeqLength = Fixtures.CONTEXT;
            SearchConfig config = config(maxSeqLength);
            config.setK(k);
            config.setAlpha(0.6f);
            Recorder rec = new Recorder(scone);
            long[][] out = djl(s.lm(), rec, "contrastive", config, m, PROMPTS);
            long[][] pad = padded(PROMPTS);
            assertEquals(PROMPTS.length, out.length);
            for (int r = 0; r < out.length; r++) {
                assertEquals(maxSeqLength, out[r].length);
                assertArrayEquals(pad[r], Arrays.copyOf(out[r], t0), "prompt " + r);
            }
            // The prefill, then one call over the k candidates of every new token, the last one included.
            assertEquals(maxSeqLength - t0 + 1, rec.calls.size());
            if (!scone) {
                return 0;
            }
            for (int c = 0; c < rec.calls.size(); c++) {
                Call call = rec.calls.get(c);
                assertEquals(c == 0 ? PROMPTS.length : PROMPTS.length * k, call.rows());
                for (int r = 0; r < call.rows(); r++) {
                    int[] seq = call.sequences()[r];
                    assertClose(full(m, s.lm(), seq), call.lastLogits()[r], "call " + c + " row " + r);
                    if (c > 0) {
                        int g = r / k;
                        // Each candidate continues the sequence selected at the previous call.
                        int[][] before = rec.calls.get(c - 1).sequences();
                        int from = c == 1 ? g : g * k;
                        int to = c == 1 ? g + 1 : (g + 1) * k;
                        assertTrue(contains(before, from, to, dropLast(seq)), "call " + c + " row " + r);
                        assertArrayEquals(dropLast(call.sequences()[g * k]), dropLast(seq), "one history per row");
                    }
                }
            }
            int[][] last = rec.calls.get(rec.calls.size() - 1).sequences();
            for (int r = 0; r < out.length; r++) {
                assertTrue(contains(last, r * k, (r + 1) * k, unpadded(out[r])),
                        "output " + r + " is one of the last call's candidates");
            }
            return s.table().lastLookups.stream().skip(1).mapToInt(x -> x[1]).sum();
        }
    }

    /** Inputs as DJL's searches build them, by hand. */
    private static NDList input(NDManager m, long[][] ids, long[][] positions, long[][] mask, NDList past) {
        NDList in = new NDList(m.create(ids), m.create(positions), m.create(mask));
        if (past != null) {
            in.addAll(past);
        }
        return in;
    }

    private static NDList select(NDManager m, NDList list, int from, long[] rows) {
        NDList out = new NDList();
        NDArray index = m.create(rows);
        for (int i = from; i < list.size(); i++) {
            out.add(list.get(i).get(new ai.djl.ndarray.index.NDIndex("{}", index)));
        }
        return out;
    }

    private static float[] lastLogits(NDArray logits, int row) {
        return logits.get(row, logits.getShape().get(1) - 1).toFloatArray();
    }

    @Test
    void theTokenEntryTravelsWithReorderedAndRepeatedRows() {
        try (NDManager m = NDManager.newBaseManager()) {
            Served s = served(m, true, 15);
            CausalLmAdapterBlock adapter = new CausalLmAdapterBlock(s.lm());
            assertTrue(adapter.carriesTokens());
            assertEquals(2 * 2 + 1, adapter.pastSize());
            ParameterStore ps = new ParameterStore(m, false);
            // Prefill: row 0 left-padded by two; its padding holds an id outside the vocabulary.
            NDList out = adapter.forward(ps, input(m, new long[][] {{PAD, PAD, 3, 4, 1}, {9, 10, 11, 5, 6}},
                    new long[][] {{0, 0, 0, 1, 2}, {0, 1, 2, 3, 4}}, new long[][] {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 1}},
                    null), false);
            assertEquals(2 + adapter.pastSize(), out.size());
            assertArrayEquals(new float[] {-1, -1, 3, 4, 1, 9, 10, 11, 5, 6},
                    out.get(out.size() - 1).get(":, 0, :, 0").toFloatArray(), "the token entry");
            assertClose(full(m, s.lm(), new int[] {3, 4, 1}), lastLogits(out.get(0), 0), "prefill row 0");
            // Step: 1 | 2 matches (1 2) and 5 6 | 7 matches (5 6 7) with both earlier tokens from the entry.
            out = adapter.forward(ps, input(m, new long[][] {{2}, {7}}, new long[][] {{3}, {5}},
                    new long[][] {{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}}, out.subNDList(2)), false);
            int[] last = s.table().lastLookups.get(s.table().lastLookups.size() - 1);
            assertArrayEquals(new int[] {2, 2}, last, "rows and matches of the step");
            int[][] seqs = {{3, 4, 1, 2}, {9, 10, 11, 5, 6, 7}};
            for (int r = 0; r < 2; r++) {
                assertClose(full(m, s.lm(), seqs[r]), lastLogits(out.get(0), r), "step row " + r);
            }
            // Reorder and repeat the rows as beam and contrastive search do: (1, 0, 1).
            long[] rows = {1, 0, 1};
            NDList past = select(m, out, 2, rows);
            long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1}};
            out = adapter.forward(ps, input(m, new long[][] {{8}, {3}, {8}}, new long[][] {{6}, {4}, {6}}, mask, past),
                    false);
            int[][] next = {{9, 10, 11, 5, 6, 7, 8}, {3, 4, 1, 2, 3}, {9, 10, 11, 5, 6, 7, 8}};
            for (int r = 0; r < 3; r++) {
                assertClose(full(m, s.lm(), next[r]), lastLogits(out.get(0), r), "reordered row " + r);
            }
            // The entry matters: with the entry's rows swapped against the cache, row 0 matches nothing.
            NDList swapped = new NDList(past.subNDList(0, 4));
            swapped.addAll(select(m, past, 4, new long[] {1, 0, 1}));
            NDList wrong = adapter.forward(ps, input(m, new long[][] {{8}, {3}, {8}}, new long[][] {{6}, {4}, {6}},
                    mask, swapped), false);
            assertFalse(Fixtures.maxAbsDiff(full(m, s.lm(), next[0]), lastLogits(wrong.get(0), 0)) <= TOLERANCE,
                    "a misrouted token entry must change the logits");
        }
    }

    @Test
    void aSequencePastTheContextLengthIsRefusedWithTheBound() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, true, 16).lm();
            TranslateException e = assertThrows(TranslateException.class,
                    () -> djl(lm, new CausalLmTranslator(), "greedy", config(Fixtures.CONTEXT + 2), m, PROMPTS));
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            assertTrue(cause instanceof IllegalArgumentException, String.valueOf(cause));
            assertTrue(cause.getMessage().contains("position 12 is outside [0, 12)")
                    && cause.getMessage().contains("maxSeqLength at most 13 (greedy, beam) or 12 (contrastive)"),
                    cause.getMessage());
            // Contrastive search runs the model over its last token too: one position more than greedy.
            SearchConfig contrastive = config(Fixtures.CONTEXT + 1);
            e = assertThrows(TranslateException.class,
                    () -> djl(lm, new CausalLmTranslator(), "contrastive", contrastive, m, PROMPTS));
            assertEquals(Fixtures.CONTEXT, djl(lm, new CausalLmTranslator(), "contrastive", config(Fixtures.CONTEXT), m,
                    PROMPTS)[0].length);
        }
    }

    @Test
    void badModelsAndInputsAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel trained = LanguageModel.scone(Fixtures.config(true, false), vocabulary);
            Fixtures.initialize(trained.block(), m, 1, 1, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new CausalLmAdapterBlock(trained.block()));
            assertTrue(e.getMessage().contains("need an inference model"), e.getMessage());
            CausalLanguageModelBlock uninitialized = CausalLanguageModelBlock.baseline(Fixtures.config(false, false));
            e = assertThrows(IllegalArgumentException.class, () -> new CausalLmAdapterBlock(uninitialized));
            assertTrue(e.getMessage().contains("not initialized"), e.getMessage());

            CausalLmAdapterBlock baseline = new CausalLmAdapterBlock(served(m, false, 17).lm());
            assertFalse(baseline.carriesTokens());
            assertEquals(4, baseline.pastSize());
            CausalLmAdapterBlock scone = new CausalLmAdapterBlock(served(m, true, 17).lm());
            ParameterStore ps = new ParameterStore(m, false);
            long[][] one = {{1, 2}};
            long[][] pos = {{0, 1}};
            NDList prefill = baseline.forward(ps, input(m, one, pos, new long[][] {{1, 1}}, null), false);
            assertEquals(2 + 4, prefill.size());
            // A baseline's past list given to the SCONE adapter lacks the token entry.
            e = assertThrows(IllegalArgumentException.class, () -> scone.forward(ps, input(m, new long[][] {{3}},
                    new long[][] {{2}}, new long[][] {{1, 1, 1}}, prefill.subNDList(2)), false));
            assertTrue(e.getMessage().contains("the past list holds 4 arrays, expected 5"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> baseline.forward(ps, input(m, new long[][] {{3}},
                    new long[][] {{2}}, new long[][] {{1, 1}}, prefill.subNDList(2)), false));
            assertTrue(e.getMessage().contains("attentionMask has shape (1, 2)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> scone.forward(ps,
                    input(m, new long[][] {{1, Fixtures.V}}, pos, new long[][] {{1, 1}}, null), false));
            assertTrue(e.getMessage().contains("token 24 is outside the vocabulary [0, 24)"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> new CausalLmTranslator().processOutput(null, new NDList(m.zeros(new Shape(1)))));
        }
    }

    @Test
    void longGenerationsLeaveNoArraysBehind() throws Exception {
        try (NDManager params = NDManager.newBaseManager(); NDManager io = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(params, true, 18).lm();
            int before = ((BaseNDManager) params).getManagedArrays().size();
            SearchConfig beam = config(Fixtures.CONTEXT + 1);
            beam.setBeam(2);
            djl(lm, new CausalLmTranslator(), "greedy", config(Fixtures.CONTEXT + 1), io, PROMPTS);
            djl(lm, new CausalLmTranslator(), "beam", beam, io, PROMPTS);
            djl(lm, new CausalLmTranslator(), "contrastive", config(Fixtures.CONTEXT), io, PROMPTS);
            assertEquals(before, ((BaseNDManager) params).getManagedArrays().size(), "the parameters' manager");
            assertEquals(0, ((BaseNDManager) io).getManagedArrays().size(), "arrays left by the searches");

            // Driven step by step, the adapter leaves only its outputs in the caller's manager.
            CausalLmAdapterBlock adapter = new CausalLmAdapterBlock(lm);
            ParameterStore ps = new ParameterStore(io, false);
            NDList in = input(io, new long[][] {{4, 1}}, new long[][] {{0, 1}}, new long[][] {{1, 1}}, null);
            NDList out = adapter.forward(ps, in, false);
            int count = -1;
            for (int step = 0; step < Fixtures.CONTEXT - 2; step++) {
                long[][] mask = new long[1][step + 3];
                Arrays.fill(mask[0], 1);
                NDList next = input(io, new long[][] {{(step * 5) % Fixtures.V}}, new long[][] {{step + 2}}, mask,
                        out.subNDList(2));
                NDList result = adapter.forward(ps, next, false);
                in.close();
                out.close();
                in = new NDList(next.subList(0, 3));
                out = result;
                int now = ((BaseNDManager) io).getManagedArrays().size();
                if (step == 0) {
                    count = now;
                } else {
                    assertEquals(count, now, "arrays in the caller's manager at step " + step);
                }
            }
            assertEquals(before, ((BaseNDManager) params).getManagedArrays().size(), "the parameters' manager");
        }
    }
}
