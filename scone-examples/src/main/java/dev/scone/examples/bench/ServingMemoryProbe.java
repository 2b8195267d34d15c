package dev.scone.examples.bench;

import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.examples.Steps;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.ObjectName;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The memory of a process that serves one model and nothing else: it loads an inference export
 * (and, for a SCONE model, opens its store), generates greedily over the key/value cache, runs a
 * GC, asks the C allocator to return its free pages to the system ({@code malloc_trim(0)}, glibc),
 * and prints one line ({@value #PREFIX} followed by {@code key=value} pairs) with its resident
 * set ({@code VmRSS}, {@code VmHWM}, {@code RssAnon}, {@code RssFile} from {@code /proc/self/status};
 * {@code VmRSS} also as it was before the trim: memory that PyTorch freed and the allocator kept),
 * the Java heap used and committed, the non-heap committed, the resident and mapped pages of the
 * store's files (from {@code /proc/self/smaps}) and, when the JVM tracks its native memory
 * ({@code -XX:NativeMemoryTracking=summary}), the JVM's own committed total.
 *
 * <p>{@link GenerationBenchmark} runs it as a child JVM per model ({@link #launch}), with the
 * parent's JVM options and class path, so that the two processes differ only in the model they
 * serve. Linux only ({@code /proc}); elsewhere the figures read -1.
 */
@Command(name = "serving-memory-probe", mixinStandardHelpOptions = true,
        description = "Serve one inference export (and its store) in this process, generate, and print its memory.")
public final class ServingMemoryProbe implements Callable<Integer> {

    /** What the report line starts with. */
    static final String PREFIX = "serving-memory:";

    @Option(names = "--model", required = true, description = "The inference export file.")
    Path model;

    @Option(names = "--store", description = "The store folder (a SCONE model only).")
    Path store;

    @Option(names = "--hold-store", description = "A baseline only: open this store folder and hold it, unused, while"
            + " the baseline generates (the control that separates the store's own cost from SCONE's).")
    Path holdStore;

    @Option(names = "--prompts", required = true, description = "The prompts: token ids separated by ',', rows by ';'.")
    String prompts;

    @Option(names = "--tokens", description = "New tokens per row, greedy, with the cache (default: ${DEFAULT-VALUE}).")
    int tokens = 256;

    /**
     * One serving process's memory after generating (sizes in bytes; -1 where not available).
     *
     * @param vmRss resident set ({@code VmRSS})
     * @param vmHwm peak resident set ({@code VmHWM})
     * @param vmRssUntrimmed resident set after the GC, before {@code malloc_trim} (equal to {@code vmRss}
     *     where there is no glibc to trim)
     * @param rssAnon anonymous resident memory ({@code RssAnon}: heap, native allocations)
     * @param rssFile file-backed resident memory ({@code RssFile}: libraries, mapped files)
     * @param heapUsed Java heap used after a GC
     * @param heapCommitted Java heap committed
     * @param nonHeapCommitted non-heap committed (metaspace, code cache)
     * @param nmtCommitted the JVM's own committed memory as its native memory tracking counts it, heap included
     * @param nmtHeapCommitted the Java heap's share of it
     * @param storeResident resident pages of the store's mapped files
     * @param storeMapped mapped size of the store's files
     * @param generated tokens generated
     * @param seconds wall time from start to the measurement
     * @param nmtCategories committed bytes per native memory tracking category (spaces in names as
     *     {@code _}), empty without NMT
     */
    public record Sample(long vmRss, long vmHwm, long vmRssUntrimmed, long rssAnon, long rssFile, long heapUsed, long heapCommitted,
            long nonHeapCommitted, long nmtCommitted, long nmtHeapCommitted, long storeResident, long storeMapped,
            long generated, double seconds, Map<String, Long> nmtCategories) {

        /** Copies the categories. */
        public Sample {
            nmtCategories = Map.copyOf(nmtCategories);
        }

        /**
         * The median of each figure over several processes' samples (of two middle values, their mean),
         * NMT categories included (those that every sample has); the wall time is the mean.
         *
         * @param samples one or more samples
         * @return their median sample
         */
        static Sample median(List<Sample> samples) {
            if (samples.isEmpty()) {
                throw new IllegalArgumentException("no samples");
            }
            Map<String, Long> categories = new TreeMap<>();
            for (String k : samples.get(0).nmtCategories().keySet()) {
                if (samples.stream().allMatch(x -> x.nmtCategories().containsKey(k))) {
                    categories.put(k, med(samples, x -> x.nmtCategories().get(k)));
                }
            }
            return new Sample(med(samples, Sample::vmRss), med(samples, Sample::vmHwm),
                    med(samples, Sample::vmRssUntrimmed), med(samples, Sample::rssAnon), med(samples, Sample::rssFile),
                    med(samples, Sample::heapUsed), med(samples, Sample::heapCommitted),
                    med(samples, Sample::nonHeapCommitted), med(samples, Sample::nmtCommitted),
                    med(samples, Sample::nmtHeapCommitted), med(samples, Sample::storeResident),
                    med(samples, Sample::storeMapped), med(samples, Sample::generated),
                    samples.stream().mapToDouble(Sample::seconds).average().orElseThrow(), categories);
        }

        private static long med(List<Sample> samples, java.util.function.ToLongFunction<Sample> field) {
            long[] v = samples.stream().mapToLong(field).sorted().toArray();
            int n = v.length;
            return n % 2 == 1 ? v[n / 2] : Math.floorDiv(v[n / 2 - 1] + v[n / 2], 2);
        }

        /** @return the resident set less the committed Java heap: what the process holds besides the heap */
        public long nativeShare() {
            return vmRss < 0 || heapCommitted < 0 ? -1 : vmRss - heapCommitted;
        }

        /** @return the JVM's own native memory (NMT total less the heap), or -1 without NMT */
        public long jvmNative() {
            return nmtCommitted < 0 || nmtHeapCommitted < 0 ? -1 : nmtCommitted - nmtHeapCommitted;
        }

        /** @return the report line */
        String format() {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s vmRss=%d vmHwm=%d vmRssUntrimmed=%d rssAnon=%d"
                    + " rssFile=%d heapUsed=%d heapCommitted=%d nonHeapCommitted=%d nmtCommitted=%d nmtHeapCommitted=%d"
                    + " storeResident=%d storeMapped=%d generated=%d seconds=%.3f", PREFIX, vmRss, vmHwm, vmRssUntrimmed, rssAnon,
                    rssFile, heapUsed, heapCommitted, nonHeapCommitted, nmtCommitted, nmtHeapCommitted, storeResident,
                    storeMapped, generated, seconds));
            new TreeMap<>(nmtCategories).forEach((k, v) -> sb.append(" nmt.").append(k).append('=').append(v));
            return sb.toString();
        }

        /**
         * @param line a report line
         * @return its sample
         * @throws IllegalArgumentException when a field is missing or malformed
         */
        static Sample parse(String line) {
            if (!line.startsWith(PREFIX)) {
                throw new IllegalArgumentException("not a serving-memory line: " + line);
            }
            Map<String, String> kv = new LinkedHashMap<>();
            for (String field : line.substring(PREFIX.length()).trim().split("\\s+")) {
                int eq = field.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("malformed field '" + field + "' in: " + line);
                }
                kv.put(field.substring(0, eq), field.substring(eq + 1));
            }
            Map<String, Long> categories = new TreeMap<>();
            try {
                for (Map.Entry<String, String> e : kv.entrySet()) {
                    if (e.getKey().startsWith("nmt.")) {
                        categories.put(e.getKey().substring(4), Long.parseLong(e.getValue()));
                    }
                }
                return new Sample(num(kv, "vmRss"), num(kv, "vmHwm"), num(kv, "vmRssUntrimmed"), num(kv, "rssAnon"), num(kv, "rssFile"),
                        num(kv, "heapUsed"), num(kv, "heapCommitted"), num(kv, "nonHeapCommitted"),
                        num(kv, "nmtCommitted"), num(kv, "nmtHeapCommitted"), num(kv, "storeResident"),
                        num(kv, "storeMapped"), num(kv, "generated"), Double.parseDouble(field(kv, "seconds")), categories);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("malformed number in: " + line, e);
            }
        }

        private static long num(Map<String, String> kv, String key) {
            return Long.parseLong(field(kv, key));
        }

        private static String field(Map<String, String> kv, String key) {
            String v = kv.get(key);
            if (v == null) {
                throw new IllegalArgumentException("no field " + key);
            }
            return v;
        }
    }

    /**
     * Serves a model in this process and prints its memory.
     *
     * @param args command-line arguments (see {@code --help})
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Serves a model in this process and prints its memory, without exiting.
     *
     * @param args command-line arguments (see {@code --help})
     * @return the exit status: 0, or 2 for inputs that do not fit together
     */
    public static int runExample(String[] args) {
        Steps.configureOffline();
        return new CommandLine(new ServingMemoryProbe()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        int[][] rows;
        try {
            rows = parsePrompts(prompts);
            if (tokens < 1) {
                throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
            }
        } catch (IllegalArgumentException e) {
            System.err.println("serving-memory-probe: " + e.getMessage());
            return 2;
        }
        FgramEmbeddingTable table = null;
        FgramStore held = null;
        try (NDManager manager = NDManager.newBaseManager()) {
            long generated;
            try {
                InferenceModel.Header header = InferenceModel.readHeader(model);
                if (header.binding().isScone() != (store != null)) {
                    throw new IllegalArgumentException(model + (store == null ? " holds a SCONE model: give --store"
                            : " holds a baseline: it reads no store"));
                }
                if (holdStore != null && store != null) {
                    throw new IllegalArgumentException("--hold-store is for a baseline; a SCONE model reads --store");
                }
                if (store != null) {
                    table = FgramStorePrecompute.openFor(store, header, FgramStore.OpenOptions.defaults());
                } else if (holdStore != null) {
                    held = FgramStore.open(holdStore); // held, never read: the generator does not see it
                }
                InferenceModel served = InferenceModel.load(model, table, manager);
                TextGenerator g = TextGenerator.builder().setModel(served.block()).setManager(manager).setSeed(1)
                        .build();
                g.generate(rows, tokens, Sampling.greedy());
                generated = g.generatedTokens();
            } catch (IllegalArgumentException | IllegalStateException | SconeFormatException e) {
                System.err.println("serving-memory-probe: " + e.getMessage());
                return 2;
            }
            // Measured while the model and the store are still open, as a serving process holds them.
            Sample s = measure(store != null ? store : holdStore, generated, (System.nanoTime() - t0) / 1e9);
            System.out.println(s.format());
        } finally {
            if (table != null) {
                table.close();
            }
            if (held != null) {
                held.close();
            }
        }
        return 0;
    }

    /** This process's memory now, after a GC; the store's mapped files are those under {@code store}. */
    static Sample measure(Path store, long generated, double seconds) throws IOException {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        mem.gc();
        mem.gc();
        long heapUsed = mem.getHeapMemoryUsage().getUsed();
        long heapCommitted = mem.getHeapMemoryUsage().getCommitted();
        long nonHeap = mem.getNonHeapMemoryUsage().getCommitted();
        long untrimmed = procStatus().getOrDefault("VmRSS", -1L);
        trimNativeHeap();
        Map<String, Long> status = procStatus();
        long[] storePages = store == null ? new long[] {0, 0} : mappedUnder(store);
        Map<String, Long> nmt = nativeMemoryTracking();
        return new Sample(status.getOrDefault("VmRSS", -1L), status.getOrDefault("VmHWM", -1L), untrimmed,
                status.getOrDefault("RssAnon", -1L), status.getOrDefault("RssFile", -1L), heapUsed, heapCommitted,
                nonHeap, nmt.getOrDefault(NMT_TOTAL_KEY, -1L), nmt.getOrDefault("Java_Heap", -1L), storePages[0],
                storePages[1], generated, seconds, without(nmt, NMT_TOTAL_KEY));
    }

    /**
     * Asks glibc's allocator to return the free pages of all its arenas to the system, so that the
     * resident set counts what the process holds rather than what its allocator kept after PyTorch
     * freed it (which varies by tens of MiB from run to run). Does nothing where there is no glibc.
     */
    static void trimNativeHeap() {
        try {
            com.sun.jna.Function.getFunction("c", "malloc_trim").invokeInt(new Object[] {0});
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            // not glibc: nothing to trim, VmRSS stays as it is
        }
    }

    /** The kB fields of {@code /proc/self/status}, in bytes; empty where there is no /proc. */
    static Map<String, Long> procStatus() {
        Map<String, Long> out = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                Matcher m = KB_FIELD.matcher(line);
                if (m.matches()) {
                    out.put(m.group(1), Long.parseLong(m.group(2)) * 1024);
                }
            }
        } catch (IOException e) {
            // not Linux: every figure reads -1
        }
        return out;
    }

    private static final Pattern KB_FIELD = Pattern.compile("(\\w+):\\s+(\\d+) kB");
    private static final Pattern MAPPING = Pattern.compile("[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\S+\\s*(.*)");

    /**
     * @param dir a folder
     * @return {resident bytes, mapped bytes} of this process's mappings of files under it
     *     ({@code /proc/self/smaps}); {-1, -1} where there is no /proc
     */
    static long[] mappedUnder(Path dir) throws IOException {
        String prefix = dir.toRealPath().toString() + "/";
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/smaps"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return new long[] {-1, -1};
        }
        long rss = 0;
        long size = 0;
        boolean inside = false;
        for (String line : lines) {
            Matcher m = MAPPING.matcher(line);
            if (m.matches()) {
                inside = m.group(1).startsWith(prefix);
                continue;
            }
            if (inside) {
                Matcher f = KB_FIELD.matcher(line);
                if (f.matches()) {
                    if (f.group(1).equals("Rss")) {
                        rss += Long.parseLong(f.group(2)) * 1024;
                    } else if (f.group(1).equals("Size")) {
                        size += Long.parseLong(f.group(2)) * 1024;
                    }
                }
            }
        }
        return new long[] {rss, size};
    }

    private static final String NMT_TOTAL_KEY = "Total";
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_CATEGORY = Pattern.compile(
            "(?m)^-\\s+(\\S.*?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");

    /**
     * @return committed bytes per native memory tracking category (names with {@code _} for spaces,
     *     the Java heap as {@code Java_Heap}) and in all ({@value #NMT_TOTAL_KEY}); empty when tracking is off
     */
    static Map<String, Long> nativeMemoryTracking() {
        Map<String, Long> out = new TreeMap<>();
        try {
            String text = String.valueOf(ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary", "scale=KB"}}, new String[] {String[].class.getName()}));
            Matcher total = NMT_TOTAL.matcher(text);
            if (total.find()) {
                out.put(NMT_TOTAL_KEY, Long.parseLong(total.group(2)) * 1024);
                Matcher m = NMT_CATEGORY.matcher(text);
                while (m.find()) {
                    out.put(m.group(1).trim().replace(' ', '_'), Long.parseLong(m.group(3)) * 1024);
                }
            }
        } catch (Exception e) {
            // no diagnostic command here: report none
        }
        return out;
    }

    private static Map<String, Long> without(Map<String, Long> map, String key) {
        Map<String, Long> copy = new TreeMap<>(map);
        copy.remove(key);
        return copy;
    }

    /** @return "1,2;3,4" as {{1, 2}, {3, 4}} */
    static int[][] parsePrompts(String text) {
        String[] rows = text.split(";");
        int[][] out = new int[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            String[] ids = rows[r].split(",");
            out[r] = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                try {
                    out[r][i] = Integer.parseInt(ids[i].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--prompts: '" + ids[i] + "' in row " + r + " is not a token id");
                }
            }
        }
        return out;
    }

    /** @return the prompts in the form {@link #parsePrompts} reads */
    static String formatPrompts(int[][] prompts) {
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < prompts.length; r++) {
            if (r > 0) {
                sb.append(';');
            }
            for (int i = 0; i < prompts[r].length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(prompts[r][i]);
            }
        }
        return sb.toString();
    }

    /**
     * The command line of a child JVM that runs this probe with the same JVM options and class path
     * as this one ({@code java.home}, the runtime's input arguments, {@code java.class.path}); a
     * debugger agent is left out (its port is this process's), and native memory tracking is
     * switched to {@code summary} when asked.
     *
     * @param probeArgs the probe's own arguments
     * @param nmt whether to add {@code -XX:NativeMemoryTracking=summary}
     * @return the command
     */
    static List<String> childCommand(List<String> probeArgs, boolean nmt) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp")
                    || (nmt && a.startsWith("-XX:NativeMemoryTracking"))) {
                continue;
            }
            cmd.add(a);
        }
        if (nmt) {
            cmd.add("-XX:NativeMemoryTracking=summary");
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ServingMemoryProbe.class.getName());
        cmd.addAll(probeArgs);
        return cmd;
    }

    /**
     * Runs the probe in a child JVM and reads its report.
     *
     * @param model the export file
     * @param store the store folder of a SCONE model, or null for a baseline
     * @param holdStore for a baseline: a store folder to open and hold unused (the control), or null
     * @param prompts the prompts
     * @param tokens new tokens per row
     * @param nmt whether the child tracks its native memory
     * @param timeoutSeconds how long to wait for it
     * @return its sample
     * @throws IOException when the child fails, times out or prints no report (the message holds its last line)
     */
    static Sample launch(Path model, Path store, Path holdStore, int[][] prompts, int tokens, boolean nmt,
            long timeoutSeconds) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--prompts", formatPrompts(prompts),
                "--tokens", Integer.toString(tokens)));
        if (store != null) {
            args.add("--store");
            args.add(store.toString());
        }
        if (holdStore != null) {
            args.add("--hold-store");
            args.add(holdStore.toString());
        }
        Path log = Files.createTempFile("serving-memory", ".log");
        try {
            Process p = new ProcessBuilder(childCommand(args, nmt)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new IOException("the child serving " + model + " ran past " + timeoutSeconds + " s");
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).startsWith(PREFIX) && p.exitValue() == 0) {
                    return Sample.parse(lines.get(i));
                }
            }
            String last = lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1);
            throw new IOException("the child serving " + model + " exited with status " + p.exitValue()
                    + " without a report; its last line: " + last);
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
