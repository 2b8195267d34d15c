package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

/** Runs the {@code scone} command line in this JVM with its stderr captured, and checks its failures. */
final class CliRuns {

    /** What a stack trace prints, in any of its forms. */
    static final Pattern TRACE = Pattern.compile(
            "^\\s+at \\S|^Caused by:|^Exception in thread|^\\s+\\.\\.\\. \\d+ more|^\\S+(Exception|Error)(: |$)",
            Pattern.MULTILINE);

    /** The error line: {@code scone COMMAND: ...} or {@code scone: ...}. */
    static final Pattern SAID = Pattern.compile("^scone( [a-z]+)?: ");

    /** The exit status, stdout and stderr of one run. */
    record Run(int status, String out, String err) {}

    private CliRuns() {}

    /** Runs the command line with its stdout and stderr captured. */
    static Run run(String... args) {
        PrintStream oldErr = System.err;
        PrintStream oldOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8);
                PrintStream stdout = new PrintStream(out, true, StandardCharsets.UTF_8)) {
            System.setErr(capture);
            System.setOut(stdout);
            int status = SconeCli.runExample(args);
            capture.flush();
            stdout.flush();
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(oldErr);
            System.setOut(oldOut);
        }
    }

    /**
     * Runs a command that must fail as expected: status 2, no stack trace, and one error line,
     * the last on stderr, that starts with the command and contains {@code names}.
     *
     * @return the run
     */
    static Run assertFailsInOneLine(String names, String... args) {
        String title = String.join(" ", args);
        Run r = run(args);
        assertEquals(2, r.status(), title + " -> stderr:\n" + r.err());
        assertFalse(TRACE.matcher(r.err()).find(), title + " printed a stack trace:\n" + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        List<String> said = lines.stream().filter(l -> SAID.matcher(l).find()).toList();
        assertEquals(1, said.size(), title + " -> stderr:\n" + r.err());
        String line = said.get(0);
        assertEquals(line, lines.get(lines.size() - 1), "the error is the last line: " + r.err());
        boolean subcommand = new picocli.CommandLine(new SconeCli()).getSubcommands().containsKey(args[0]);
        String command = subcommand ? "scone " + args[0] + ":" : "scone:";
        assertTrue(line.startsWith(command), line);
        assertTrue(line.contains(names), title + ": the line names " + names + ": " + line);
        return r;
    }
}
