package dev.scone.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A Spark standalone cluster on this machine for tests: a master and workers started from the
 * test's class path as separate JVMs, bound to 127.0.0.1 on free ports, each logging to its own
 * file under {@code logDir} (kept for failures). {@link #close} stops them (and the executors they
 * started); a shutdown hook does the same if the test JVM ends first.
 *
 * <p>An application started with {@link #context} runs its executors in JVMs the workers launch:
 * they get the test's class path minus scone-spark's own classes and the tests' (whose lambdas
 * tasks run), which travel as the application jar ({@code spark.jars}, built here from the two
 * classes folders, as spark-submit ships an application's jar), and the JVM options scone needs
 * (Chronicle Map's exports and opens, DJL offline, Spark's own opens), taken from this JVM's.
 */
public final class StandaloneCluster implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final Path logDir;
    private final List<Process> processes = new ArrayList<>();
    private final Thread hook = new Thread(this::stopProcesses, "standalone-cluster-stop");
    private final int masterPort;
    private final List<String> jvmOptions;
    private final List<String> classPath;

    private StandaloneCluster(Path logDir) throws IOException {
        this.logDir = Files.createDirectories(logDir);
        this.masterPort = freePort();
        // the cluster's JVMs log at INFO (the readiness lines this class waits for are INFO), not the
        // tests' WARN configuration that their class path carries
        Path log4j = Files.writeString(this.logDir.resolve("log4j2-cluster.properties"), String.join("\n",
                "rootLogger.level = info", "rootLogger.appenderRef.stderr.ref = stderr",
                "appender.stderr.type = Console", "appender.stderr.name = stderr", "appender.stderr.target = SYSTEM_ERR",
                "appender.stderr.layout.type = PatternLayout",
                "appender.stderr.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n", ""));
        List<String> options = new ArrayList<>(jvmOptions());
        options.add("-Dlog4j2.configurationFile=" + log4j.toUri());
        this.jvmOptions = List.copyOf(options);
        this.classPath = classPath();
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Starts a master and {@code workers} workers and waits until every worker has registered.
     *
     * @param logDir where the processes' logs, the workers' folders and the application jar go
     * @param workers how many workers
     * @param coresPerWorker cores each worker offers
     * @param workerMemory memory each worker offers, as Spark writes it ({@code 1g})
     * @return the running cluster; close it
     * @throws IOException when a process cannot start or does not come up in time (the message
     *     holds the end of its log)
     */
    public static StandaloneCluster start(Path logDir, int workers, int coresPerWorker, String workerMemory)
            throws IOException {
        StandaloneCluster c = new StandaloneCluster(logDir);
        try {
            Path home = Files.createDirectories(c.logDir.resolve("spark-home/jars"));
            Process master = c.launch("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", Integer.toString(c.masterPort), "--webui-port", Integer.toString(freePort())),
                    home.getParent());
            c.await(master, "master", "I have been elected leader");
            List<Process> started = new ArrayList<>();
            for (int w = 1; w <= workers; w++) {
                Path work = Files.createDirectories(c.logDir.resolve("worker-" + w));
                started.add(c.launch("worker-" + w, List.of("org.apache.spark.deploy.worker.Worker", "--host",
                        "127.0.0.1", "--port", Integer.toString(freePort()), "--webui-port",
                        Integer.toString(freePort()), "--cores", Integer.toString(coresPerWorker), "--memory",
                        workerMemory, "--work-dir", work.toString(), c.masterUrl()), home.getParent()));
            }
            for (int w = 1; w <= workers; w++) {
                c.await(started.get(w - 1), "worker-" + w, "Successfully registered with master");
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** @return the master's URL, {@code spark://127.0.0.1:PORT} */
    public String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    /**
     * Starts an application on the cluster and waits until {@code executors} executors have
     * registered with it.
     *
     * @param appName the application's name
     * @param executors how many executors to wait for
     * @param executorMemory each executor's heap, as Spark writes it
     * @return the context; stop it before closing the cluster
     * @throws IOException when the application jar cannot be built or the executors do not come up
     */
    public JavaSparkContext context(String appName, int executors, String executorMemory) throws IOException {
        List<Path> application = List.of(codeSource(SconeKryoRegistrator.class), codeSource(StandaloneCluster.class));
        Path appJar = applicationJar(application);
        String executorClassPath = String.join(java.io.File.pathSeparator,
                classPath.stream().filter(e -> !application.contains(Path.of(e))).toList());
        SparkConf conf = new SparkConf().setMaster(masterUrl()).setAppName(appName)
                .set("spark.jars", appJar.toUri().toString())
                .set("spark.executor.extraClassPath", executorClassPath)
                .set("spark.executor.extraJavaOptions", String.join(" ", jvmOptions))
                .set("spark.executor.memory", executorMemory)
                .set("spark.executor.cores", "1")
                .set("spark.cores.max", Integer.toString(executors))
                .set("spark.executorEnv.OMP_NUM_THREADS", "1")
                .set("spark.executorEnv.OPT_OUT_TRACKING", "true")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false")
                .set("spark.shuffle.compress", "false")
                .set("spark.broadcast.compress", "false");
        JavaSparkContext jsc = new JavaSparkContext(SconeKryoRegistrator.configure(conf));
        jsc.setLogLevel("WARN");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        // the driver's own block manager is listed too
        while (jsc.sc().getExecutorMemoryStatus().size() < executors + 1) {
            if (System.nanoTime() > deadline) {
                int got = jsc.sc().getExecutorMemoryStatus().size() - 1;
                jsc.stop();
                throw new IOException(got + " of " + executors + " executors registered in " + START_TIMEOUT.toSeconds()
                        + " s; executor logs under " + logDir + "/worker-*/app-*/*/stderr\n" + tails());
            }
            sleep(200);
        }
        return jsc;
    }

    /** Stops the workers (which stop their executors) and the master; waits for them. */
    @Override
    public void close() {
        stopProcesses();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }

    private synchronized void stopProcesses() {
        // workers first (started last), then the master; every process's own children too
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            List<ProcessHandle> children = p.toHandle().descendants().toList();
            p.destroy();
            children.forEach(ProcessHandle::destroy);
            try {
                if (!p.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
            for (ProcessHandle h : children) {
                if (h.isAlive()) {
                    h.destroyForcibly();
                }
            }
        }
        processes.clear();
    }

    private Process launch(String name, List<String> mainAndArgs, Path sparkHome) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.addAll(jvmOptions);
        cmd.add("-Dspark.master.rest.enabled=false");
        cmd.add("-cp");
        cmd.add(String.join(java.io.File.pathSeparator, classPath));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(logDir.resolve(name + ".log").toFile());
        // the worker builds executor command lines from SPARK_HOME (an empty one: the class path comes
        // from the application) and needs the Scala version that a Spark distribution would name
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("SPARK_LOCAL_HOSTNAME", "localhost");
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private void await(Process p, String name, String line) throws IOException {
        Path log = logDir.resolve(name + ".log");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(line)) {
                return;
            }
            if (!p.isAlive()) {
                throw new IOException(name + " exited with status " + p.exitValue() + " before it logged '" + line
                        + "'\n" + tail(log));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(name + " did not log '" + line + "' within " + START_TIMEOUT.toSeconds() + " s\n"
                        + tail(log));
            }
            sleep(100);
        }
    }

    private String tails() {
        StringBuilder b = new StringBuilder();
        try (Stream<Path> s = Files.walk(logDir)) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith(".log")
                    || f.getFileName().toString().equals("stderr")).sorted().toList()) {
                b.append(tail(p));
            }
        } catch (IOException e) {
            b.append("(logs unreadable: ").append(e).append(")\n");
        }
        return b.toString();
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return "--- " + log + " (last lines)\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size())) + "\n";
        } catch (IOException e) {
            return "--- " + log + ": unreadable (" + e + ")\n";
        }
    }

    /** @return the class path entry a class comes from (a classes folder while testing) */
    private static Path codeSource(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the classes folders (or jars) as one jar: the application jar spark-submit would ship */
    private Path applicationJar(List<Path> entries) throws IOException {
        Path jar = logDir.resolve("scone-spark-app.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        java.util.Set<String> names = new java.util.HashSet<>();
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
            for (Path entry : entries) {
                if (Files.isDirectory(entry)) {
                    try (Stream<Path> files = Files.walk(entry)) {
                        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                            String name = entry.relativize(f).toString().replace('\\', '/');
                            if (names.add(name)) {
                                out.putNextEntry(new JarEntry(name));
                                Files.copy(f, out);
                                out.closeEntry();
                            }
                        }
                    }
                } else {
                    try (JarFile in = new JarFile(entry.toFile())) {
                        for (JarEntry e : java.util.Collections.list(in.entries())) {
                            if (!e.isDirectory() && !e.getName().startsWith("META-INF/") && names.add(e.getName())) {
                                out.putNextEntry(new JarEntry(e.getName()));
                                in.getInputStream(e).transferTo(out);
                                out.closeEntry();
                            }
                        }
                    }
                }
            }
        }
        return jar;
    }

    /** @return the options of this JVM that scone and Spark need in theirs (module access, offline flags) */
    private static List<String> jvmOptions() {
        List<String> out = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens=") || a.startsWith("--add-exports=") || a.startsWith("--enable-native-access=")
                    || a.startsWith("--sun-misc-unsafe-memory-access=") || a.equals("-XX:+IgnoreUnrecognizedVMOptions")
                    || a.startsWith("-Dai.djl.") || a.startsWith("-Dchronicle.") || a.startsWith("-Dio.netty.")
                    || a.startsWith("-Djava.awt.headless=")) {
                out.add(a);
            }
        }
        return out;
    }

    /** @return this JVM's class path, entry by entry (a manifest-only launcher jar expanded) */
    private static List<String> classPath() throws IOException {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            entries.add(Path.of(e).toAbsolutePath().toString());
        }
        if (entries.size() == 1 && entries.get(0).endsWith(".jar")) {
            try (JarFile jar = new JarFile(entries.get(0))) {
                Manifest m = jar.getManifest();
                String cp = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
                if (cp != null) {
                    entries.clear();
                    for (String u : cp.trim().split("\\s+")) {
                        entries.add(Path.of(URI.create(u)).toAbsolutePath().toString());
                    }
                }
            }
        }
        return entries;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted"));
        }
    }
}
