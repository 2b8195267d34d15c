package dev.scone.examples;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One training run of the experiment: what data, which model, which f-gram vocabulary, how many
 * training tokens and which seed. Its {@link #key()} identifies the run in the results file, so
 * that a run shared by several groups is trained once and a finished run is never repeated.
 *
 * @param corpus "sotu" or "docs"
 * @param split "chrono" (the most recent documents held out) or "random" (seeded, by document)
 * @param model "baseline" or "scone"
 * @param embedding main model E
 * @param layers main model layers
 * @param heads main model heads
 * @param ffn main model feed-forward width
 * @param context context length T
 * @param batch windows per step B
 * @param compact token ids kept by the compaction
 * @param maxN K of the f-gram vocabulary (a baseline's vocabulary only splits its perplexity)
 * @param minCount f-gram count threshold
 * @param topS S
 * @param countDivisor the vocabulary is counted on every countDivisor-th training document (1 = all)
 * @param fgramLayers A_fgram layers (0 for a baseline)
 * @param fgramFfn A_fgram feed-forward width (0 for a baseline)
 * @param tokens training tokens
 * @param seed training seed
 * @param inputNorm whether the main model RMS-normalises its input embedding (both models)
 * @param fgramOutput A_fgram's output ({@code FgramOutput.id()}; "layernorm" for a baseline)
 * @param combine how the f-gram vector enters ({@code FgramCombine.id()}; "replace" for a baseline)
 */
record ExperimentArm(String corpus, String split, String model, int embedding, int layers, int heads, int ffn,
        int context, int batch, int compact, int maxN, int minCount, int topS, int countDivisor, int fgramLayers,
        int fgramFfn, long tokens, long seed, boolean inputNorm, String fgramOutput, String combine) {

    /** The junction of every arm run before the junction was a setting: its key carries no junction part. */
    static final String LEGACY_OUTPUT = "layernorm";
    static final String LEGACY_COMBINE = "replace";

    /** A baseline has no f-gram vector: its output and combination are always the legacy ones. */
    ExperimentArm {
        if (!model.equals("scone")) {
            fgramOutput = LEGACY_OUTPUT;
            combine = LEGACY_COMBINE;
        }
    }

    /** @return whether this is a SCONE model */
    boolean scone() {
        return model.equals("scone");
    }

    /** @return the arm's identity in the results file */
    String key() {
        return setting() + "/seed" + seed;
    }

    /** @return the identity without the seed: the seeds of one setting are averaged */
    String setting() {
        String s = String.format(Locale.ROOT, "%s/%s/%s/E%d-L%d-H%d-F%d-T%d-B%d/c%d-K%d-m%d-S%d-q%d/A%dx%d/tok%d",
                corpus, split, model, embedding, layers, heads, ffn, context, batch, compact, maxN, minCount, topS,
                countDivisor, fgramLayers, fgramFfn, tokens);
        boolean legacy = !inputNorm && fgramOutput.equals(LEGACY_OUTPUT) && combine.equals(LEGACY_COMBINE);
        return legacy ? s : s + "/J" + (inputNorm ? "norm-" : "") + fgramOutput + "-" + combine;
    }

    /** @return a file-name-safe form of the key */
    String fileName() {
        return key().replace('/', '_');
    }

    /** @return the same arm with another seed */
    ExperimentArm withSeed(long s) {
        return new ExperimentArm(corpus, split, model, embedding, layers, heads, ffn, context, batch, compact, maxN,
                minCount, topS, countDivisor, fgramLayers, fgramFfn, tokens, s, inputNorm, fgramOutput, combine);
    }

    /** @return the same arm with another junction */
    ExperimentArm withJunction(boolean norm, String output, String comb) {
        return new ExperimentArm(corpus, split, model, embedding, layers, heads, ffn, context, batch, compact, maxN,
                minCount, topS, countDivisor, fgramLayers, fgramFfn, tokens, seed, norm, output, comb);
    }

    /** @return the fields, for the results file */
    Map<String, Object> toMap() {
        // Insertion order is the file's field order (Map.of would give a different one per JVM).
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("corpus", corpus);
        m.put("split", split);
        m.put("model", model);
        m.put("embedding", embedding);
        m.put("layers", layers);
        m.put("heads", heads);
        m.put("ffn", ffn);
        m.put("context", context);
        m.put("batch", batch);
        m.put("compact", compact);
        m.put("maxN", maxN);
        m.put("minCount", minCount);
        m.put("topS", topS);
        m.put("countDivisor", countDivisor);
        m.put("fgramLayers", fgramLayers);
        m.put("fgramFfn", fgramFfn);
        m.put("tokens", tokens);
        m.put("seed", seed);
        m.put("inputNorm", inputNorm);
        m.put("fgramOutput", fgramOutput);
        m.put("combine", combine);
        return m;
    }

    /**
     * @param m fields as {@link #toMap()} wrote them (numbers may be doubles)
     * @return the arm
     */
    static ExperimentArm fromMap(Map<String, Object> m) {
        return new ExperimentArm(str(m, "corpus"), str(m, "split"), str(m, "model"), i(m, "embedding"),
                i(m, "layers"), i(m, "heads"), i(m, "ffn"), i(m, "context"), i(m, "batch"), i(m, "compact"),
                i(m, "maxN"), i(m, "minCount"), i(m, "topS"), i(m, "countDivisor"), i(m, "fgramLayers"),
                i(m, "fgramFfn"), l(m, "tokens"), l(m, "seed"),
                // Lines written before the junction was a setting have none of these fields.
                m.containsKey("inputNorm") && bool(m, "inputNorm"),
                m.containsKey("fgramOutput") ? str(m, "fgramOutput") : LEGACY_OUTPUT,
                m.containsKey("combine") ? str(m, "combine") : LEGACY_COMBINE);
    }

    private static boolean bool(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof Boolean b)) {
            throw new IllegalArgumentException("field " + k + " is not true or false");
        }
        return b;
    }

    private static String str(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof String s)) {
            throw new IllegalArgumentException("field " + k + " is missing or not a string");
        }
        return s;
    }

    static long l(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof Number n)) {
            throw new IllegalArgumentException("field " + k + " is missing or not a number");
        }
        return n.longValue();
    }

    private static int i(Map<String, Object> m, String k) {
        return Math.toIntExact(l(m, k));
    }

    /**
     * One line of a group's table.
     *
     * @param label how the table names it
     * @param arm the arm with seed 0 (the seeds are added when the list of runs is made)
     * @param reference whether this is the baseline the group's SCONE arms are compared to
     * @param x the sweep's x value for the plot (NaN: not on the plot)
     */
    record Entry(String label, ExperimentArm arm, boolean reference, double x) {}

    /**
     * A group of the experiment: one table (and for a sweep, one plot).
     *
     * @param name the group's name on the command line
     * @param title the table's title
     * @param entries its arms without seeds
     * @param xTitle the plot's x axis, or null for no plot
     */
    record Group(String name, String title, List<Entry> entries, String xTitle) {

        /** @return the reference baseline of the group */
        Entry reference() {
            return entries.stream().filter(Entry::reference).findFirst()
                    .orElseThrow(() -> new IllegalStateException("group " + name + " has no reference baseline"));
        }
    }
}
