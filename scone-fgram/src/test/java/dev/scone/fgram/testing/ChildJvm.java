package dev.scone.fgram.testing;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a fresh JVM with the test's classpath and JVM options, so that a test can
 * prove what happens from a clean state (an empty DJL cache, an empty home folder).
 */
public final class ChildJvm {

    /** What a child JVM did. */
    public record Result(int exitCode, String output) {}

    private ChildJvm() {}

    /**
     * Runs {@code main} and waits for it.
     *
     * @param main the class whose {@code main} runs
     * @param env extra environment variables
     * @param extraJvmArgs JVM options after the test JVM's own
     * @param timeoutSeconds how long to wait before killing it
     * @param args program arguments
     * @return exit code and the merged stdout/stderr
     * @throws IOException if the process cannot start
     * @throws InterruptedException if interrupted while waiting
     */
    public static Result run(Class<?> main, Map<String, String> env, List<String> extraJvmArgs, long timeoutSeconds,
            String... args) throws IOException, InterruptedException {
        Process p = start(main, env, extraJvmArgs, args);
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("child JVM " + main.getName() + " did not finish in " + timeoutSeconds + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /**
     * Starts {@code main} and returns at once, for a test that works beside the child (its
     * stdout and stderr merged on the process's input stream; the caller waits for it or kills it).
     *
     * @param main the class whose {@code main} runs
     * @param env extra environment variables
     * @param extraJvmArgs JVM options after the test JVM's own
     * @param args program arguments
     * @return the running process
     * @throws IOException if the process cannot start
     */
    public static Process start(Class<?> main, Map<String, String> env, List<String> extraJvmArgs, String... args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-javaagent") && !a.startsWith("-agentlib")) {
                cmd.add(a);
            }
        }
        cmd.addAll(extraJvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        return pb.start();
    }
}
