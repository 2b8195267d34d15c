package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.modality.nlp.generate.SearchConfig;
import ai.djl.modality.nlp.generate.TextGenerator;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.scone.core.generate.CausalLmAdapterBlock;
import dev.scone.core.generate.CausalLmTranslator;
import dev.scone.core.generate.Sampling;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The code sample of the module README's section on DJL's TextGenerator, kept compiling and running. */
class DjlSearchReadmeSampleTest {

    @Test
    void djlsSearchesDriveASconeModelServedFromItsStore() throws Exception {
        try (NDManager parameters = NDManager.newBaseManager()) {
            // A trained SCONE model's inference model, through a float32 table of its f-gram vectors.
            LanguageModel trained = LanguageModel.of(Fixtures.config(true, false), Fixtures.vocabulary());
            Fixtures.initialize(trained.block(), parameters, 5, 1, 4);
            try (FgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 4)) {
                InferenceModel inference = InferenceModel.fromTrained(trained, table, "test", parameters);
                long[][] beams;
                long[][] greedy;

                // --- README sample ---
                CausalLanguageModelBlock lm = inference.block(); // a baseline, or SCONE reading its store
                try (Model model = Model.newInstance("scone", Device.cpu())) {
                    model.setBlock(new CausalLmAdapterBlock(lm)); // already initialized: nothing is loaded
                    try (Predictor<NDList, CausalLMOutput> predictor = model.newPredictor(new CausalLmTranslator())) {
                        SearchConfig config = new SearchConfig();
                        config.setMaxSeqLength(12); // prompt + new tokens: at most C + 1 (C for contrastive)
                        config.setPadTokenId(50256); // left padding; no prompt may start with this id
                        config.setBeam(3);
                        // One manager per call: DJL's searches keep every step's arrays in the prompts' manager.
                        try (NDManager manager = NDManager.newBaseManager()) {
                            NDArray prompts = manager.create(new long[][] {
                                {50256, 50256, 50256, 4, 1, 2},
                                {9, 10, 11, 12, 5, 6}});
                            NDArray out = new TextGenerator(predictor, "beam", config).generate(prompts);
                            // (2 * 3, 12): each prompt's three beams, prompt and padding included
                            beams = toRows(out);
                            greedy = toRows(new TextGenerator(predictor, "greedy", config).generate(prompts));
                        }
                    }
                }
                // --- end of sample ---

                assertEquals(6, beams.length);
                assertEquals(12, beams[0].length);
                int[][] prompts = {{4, 1, 2}, {9, 10, 11, 12, 5, 6}};
                var own = dev.scone.core.generate.TextGenerator.builder().setModel(lm).setManager(parameters)
                        .setSeed(1).build().generate(prompts, 6, Sampling.greedy());
                for (int r = 0; r < 2; r++) {
                    int[] tail = Arrays.stream(greedy[r], 6, 12).mapToInt(x -> (int) x).toArray();
                    assertArrayEquals(own.get(r).tokens(), tail, "greedy row " + r);
                }
            }
        }
    }

    private static long[][] toRows(NDArray out) {
        Shape s = out.getShape();
        long[] flat = out.toLongArray();
        long[][] rows = new long[(int) s.get(0)][];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = Arrays.copyOfRange(flat, (int) (r * s.get(1)), (int) ((r + 1) * s.get(1)));
        }
        return rows;
    }
}
