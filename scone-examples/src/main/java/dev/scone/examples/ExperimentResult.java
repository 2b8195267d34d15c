package dev.scone.examples;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one finished arm measured; one JSON line of the results file.
 *
 * @param arm the arm
 * @param perplexity held-out perplexity on the fixed evaluation windows
 * @param matchedPerplexity on positions with an f-gram match
 * @param unmatchedPerplexity on positions without
 * @param matchedFraction share of matched positions
 * @param evalTokens positions evaluated
 * @param trainWallSeconds wall time of the training (model set-up, validations and checkpoint included)
 * @param tokensPerSecond training throughput, validations excluded
 * @param inferenceParameters parameters needed at inference (SCONE: A_fgram excluded, it is read from the store)
 * @param trainedParameters parameters trained
 * @param fgrams f-grams in the vocabulary
 * @param countTokens tokens the vocabulary was counted on
 * @param historyTokens training tokens seen at each validation
 * @param historyWall wall seconds of the training at each validation
 * @param historyPerplexity validation perplexity at each validation
 * @param transfer the perplexity on the transfer set (the most recent documents, held out of training
 *     besides the random held-out documents), or {@code null} when the arm's split has none
 */
record ExperimentResult(ExperimentArm arm, double perplexity, double matchedPerplexity, double unmatchedPerplexity,
        double matchedFraction, long evalTokens, double trainWallSeconds, double tokensPerSecond,
        long inferenceParameters, long trainedParameters, long fgrams, long countTokens, long[] historyTokens,
        double[] historyWall, double[] historyPerplexity, Transfer transfer) {

    /**
     * The held-out perplexity on a second evaluation set.
     *
     * @param perplexity overall
     * @param matchedPerplexity on positions with an f-gram match
     * @param unmatchedPerplexity on positions without
     * @param matchedFraction share of matched positions
     * @param tokens positions evaluated
     */
    record Transfer(double perplexity, double matchedPerplexity, double unmatchedPerplexity, double matchedFraction,
            long tokens) {}

    ExperimentResult {
        if (historyTokens.length != historyWall.length || historyWall.length != historyPerplexity.length) {
            throw new IllegalArgumentException("history arrays differ in length: " + historyTokens.length + ", "
                    + historyWall.length + ", " + historyPerplexity.length);
        }
    }

    /** @return the result as one JSON line (no line break) */
    String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", arm.key());
        m.putAll(arm.toMap());
        m.put("perplexity", perplexity);
        m.put("matchedPerplexity", matchedPerplexity);
        m.put("unmatchedPerplexity", unmatchedPerplexity);
        m.put("matchedFraction", matchedFraction);
        m.put("evalTokens", evalTokens);
        m.put("trainWallSeconds", trainWallSeconds);
        m.put("tokensPerSecond", tokensPerSecond);
        m.put("inferenceParameters", inferenceParameters);
        m.put("trainedParameters", trainedParameters);
        m.put("fgrams", fgrams);
        m.put("countTokens", countTokens);
        m.put("historyTokens", historyTokens);
        m.put("historyWall", historyWall);
        m.put("historyPerplexity", historyPerplexity);
        if (transfer != null) {
            m.put("transferPerplexity", transfer.perplexity());
            m.put("transferMatchedPerplexity", transfer.matchedPerplexity());
            m.put("transferUnmatchedPerplexity", transfer.unmatchedPerplexity());
            m.put("transferMatchedFraction", transfer.matchedFraction());
            m.put("transferTokens", transfer.tokens());
        }
        return JsonLine.write(m);
    }

    /**
     * @param line a line {@link #toJson()} wrote
     * @return the result
     * @throws IllegalArgumentException when the line is not such a result, or its key does not match its fields
     */
    static ExperimentResult fromJson(String line) {
        Map<String, Object> m = JsonLine.read(line);
        ExperimentArm arm = ExperimentArm.fromMap(m);
        if (!arm.key().equals(m.get("key"))) {
            throw new IllegalArgumentException("key " + m.get("key") + " does not match the fields (" + arm.key() + ")");
        }
        return new ExperimentResult(arm, d(m, "perplexity"), d(m, "matchedPerplexity"), d(m, "unmatchedPerplexity"),
                d(m, "matchedFraction"), ExperimentArm.l(m, "evalTokens"), d(m, "trainWallSeconds"),
                d(m, "tokensPerSecond"), ExperimentArm.l(m, "inferenceParameters"),
                ExperimentArm.l(m, "trainedParameters"), ExperimentArm.l(m, "fgrams"),
                ExperimentArm.l(m, "countTokens"), longs(m, "historyTokens"), doubles(m, "historyWall"),
                doubles(m, "historyPerplexity"), !m.containsKey("transferPerplexity") ? null
                        : new Transfer(d(m, "transferPerplexity"), d(m, "transferMatchedPerplexity"),
                                d(m, "transferUnmatchedPerplexity"), d(m, "transferMatchedFraction"),
                                ExperimentArm.l(m, "transferTokens")));
    }

    private static double d(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (v == null && m.containsKey(k)) {
            return Double.NaN;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException("field " + k + " is missing or not a number");
        }
        return n.doubleValue();
    }

    private static List<?> list(Map<String, Object> m, String k) {
        if (!(m.get(k) instanceof List<?> l)) {
            throw new IllegalArgumentException("field " + k + " is missing or not an array");
        }
        return l;
    }

    private static long[] longs(Map<String, Object> m, String k) {
        List<?> l = list(m, k);
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = ((Number) l.get(i)).longValue();
        }
        return a;
    }

    private static double[] doubles(Map<String, Object> m, String k) {
        List<?> l = list(m, k);
        double[] a = new double[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i) == null ? Double.NaN : ((Number) l.get(i)).doubleValue();
        }
        return a;
    }

    /**
     * Validation perplexity at a wall time, linearly interpolated between the two validations around it.
     *
     * @param seconds the wall time
     * @return the perplexity, or NaN when the time lies outside this run's validations
     */
    double perplexityAtWall(double seconds) {
        for (int i = 0; i + 1 < historyWall.length; i++) {
            double a = historyWall[i];
            double b = historyWall[i + 1];
            if (seconds >= a && seconds <= b) {
                double f = b > a ? (seconds - a) / (b - a) : 0;
                return historyPerplexity[i] + f * (historyPerplexity[i + 1] - historyPerplexity[i]);
            }
        }
        if (historyWall.length > 0 && seconds == historyWall[historyWall.length - 1]) {
            return historyPerplexity[historyPerplexity.length - 1];
        }
        return Double.NaN;
    }

    /** @return the wall time of the last validation (NaN without any) */
    double finalWall() {
        return historyWall.length == 0 ? Double.NaN : historyWall[historyWall.length - 1];
    }

    /** @return the last validation perplexity (NaN without any) */
    double finalValidationPerplexity() {
        return historyPerplexity.length == 0 ? Double.NaN : historyPerplexity[historyPerplexity.length - 1];
    }
}
