package dev.scone.examples.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The operators of a PyTorch profiler trace (Chrome trace format: complete events with a name, a
 * thread, a start and a duration in microseconds), with each operator's self time: its duration
 * less that of the operators nested in it on the same thread.
 */
final class OperatorProfile {

    /** One operator name's totals. */
    record Op(String name, long calls, double selfMs, double totalMs) {}

    private final List<Op> ops;
    private final double topLevelMs;

    private OperatorProfile(List<Op> ops, double topLevelMs) {
        this.ops = ops;
        this.topLevelMs = topLevelMs;
    }

    private record Event(String name, long tid, double start, double dur) {}

    /**
     * @param trace the profiler's JSON file
     * @return its operators
     * @throws IOException when the file cannot be read or is not a trace
     */
    static OperatorProfile read(Path trace) throws IOException {
        JsonElement root;
        try (Reader r = Files.newBufferedReader(trace, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(r);
        } catch (RuntimeException e) {
            throw new IOException(trace + ": not a JSON trace (" + e.getMessage() + ")", e);
        }
        JsonArray events = root.isJsonArray() ? root.getAsJsonArray()
                : root.getAsJsonObject().getAsJsonArray("traceEvents");
        if (events == null) {
            throw new IOException(trace + ": no trace events");
        }
        Map<Long, List<Event>> byThread = new HashMap<>();
        for (JsonElement el : events) {
            JsonObject o = el.getAsJsonObject();
            if (!o.has("dur") || !o.has("ts") || !o.has("name")) {
                continue;
            }
            long tid = o.has("tid") ? o.get("tid").getAsLong() : 0;
            byThread.computeIfAbsent(tid, k -> new ArrayList<>()).add(new Event(o.get("name").getAsString(), tid,
                    o.get("ts").getAsDouble(), o.get("dur").getAsDouble()));
        }
        Map<String, double[]> totals = new HashMap<>(); // calls, self us, total us
        double topLevel = 0;
        for (List<Event> thread : byThread.values()) {
            thread.sort(Comparator.comparingDouble(Event::start).thenComparing(Comparator.comparingDouble(Event::dur)
                    .reversed()));
            Deque<double[]> stack = new ArrayDeque<>(); // {end, child time, index}
            Deque<Event> open = new ArrayDeque<>();
            for (Event e : thread) {
                while (!open.isEmpty() && stack.peek()[0] <= e.start()) {
                    close(open.pop(), stack.pop(), totals);
                }
                if (open.isEmpty()) {
                    topLevel += e.dur();
                } else {
                    stack.peek()[1] += e.dur();
                }
                open.push(e);
                stack.push(new double[] {e.start() + e.dur(), 0});
            }
            while (!open.isEmpty()) {
                close(open.pop(), stack.pop(), totals);
            }
        }
        List<Op> ops = new ArrayList<>();
        totals.forEach((name, t) -> ops.add(new Op(name, (long) t[0], t[1] / 1e3, t[2] / 1e3)));
        ops.sort(Comparator.comparingDouble(Op::selfMs).reversed());
        return new OperatorProfile(ops, topLevel / 1e3);
    }

    private static void close(Event e, double[] frame, Map<String, double[]> totals) {
        double[] t = totals.computeIfAbsent(e.name(), k -> new double[3]);
        t[0]++;
        t[1] += Math.max(0, e.dur() - frame[1]);
        t[2] += e.dur();
    }

    /** @return the operators, most self time first */
    List<Op> ops() {
        return ops;
    }

    /**
     * Prints where the steps' time went.
     *
     * @param model the model's name
     * @param steps the steps profiled
     * @param wallMs their wall time
     * @param out where to print
     */
    void print(String model, int steps, double wallMs, PrintStream out) {
        double self = ops.stream().mapToDouble(Op::selfMs).sum();
        double matmul = ops.stream().filter(o -> isMatmul(o.name())).mapToDouble(Op::selfMs).sum();
        out.printf(Locale.ROOT, "%nprofile of %d %s steps: %.1f ms per step by the wall clock, %.1f ms in operators"
                + " (%.0f%%), of which matmuls %.1f ms (%.0f%% of the wall); outside any operator %.1f ms (%.0f%%)%n",
                steps, model, wallMs / steps, topLevelMs / steps, 100 * topLevelMs / wallMs, matmul / steps,
                100 * matmul / wallMs, (wallMs - topLevelMs) / steps, 100 * (wallMs - topLevelMs) / wallMs);
        out.println("| operator | calls per step | self ms per step | share of the wall |");
        out.println("|---|---|---|---|");
        for (Op o : ops.subList(0, Math.min(15, ops.size()))) {
            out.printf(Locale.ROOT, "| %s | %.0f | %.2f | %.1f%% |%n", o.name(), (double) o.calls() / steps,
                    o.selfMs() / steps, 100 * o.selfMs() / wallMs);
        }
        out.printf(Locale.ROOT, "| (%d other operators) | | %.2f | %.1f%% |%n", Math.max(0, ops.size() - 15),
                ops.stream().skip(15).mapToDouble(Op::selfMs).sum() / steps,
                100 * ops.stream().skip(15).mapToDouble(Op::selfMs).sum() / wallMs);
        if (self > topLevelMs * 1.01) {
            out.println("(operators on several threads overlap: self times add up to more than the wall)");
        }
    }

    static boolean isMatmul(String op) {
        return op.equals("aten::mm") || op.equals("aten::addmm") || op.equals("aten::bmm") || op.equals("aten::matmul")
                || op.equals("aten::linear");
    }
}
