package dev.scone.examples;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Checks scone files and folders completely and prints what it checked, one line per file or
 * store ({@link SconeFiles}). Status 0 when everything checked is sound; 2, with one last line on
 * stderr naming the first problem, when anything is damaged, foreign or missing.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Check scone files completely (token ids, compaction, vocabulary, checkpoint, export, store,"
                + " sharded store, or folders of them) and print what was checked.")
public final class VerifyCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Files or folders to check.")
    List<Path> paths;

    @Override
    public Integer call() {
        return run(paths, System.out, System.err);
    }

    /**
     * Checks every path and prints a line for each file or store found.
     *
     * @param paths files or folders
     * @param out where the findings go
     * @param err where the summary of problems goes
     * @return 0 when nothing failed, else {@value CliErrors#INPUT_ERROR}
     */
    static int run(List<Path> paths, PrintStream out, PrintStream err) {
        List<SconeFiles.Finding> failed = new ArrayList<>();
        int checked = 0;
        int skipped = 0;
        for (Path p : paths) {
            for (SconeFiles.Finding f : SconeFiles.verify(p)) {
                out.println(f.line());
                switch (f.outcome()) {
                    case OK -> checked++;
                    case FAIL -> failed.add(f);
                    default -> skipped++;
                }
            }
        }
        out.printf(Locale.ROOT, "%d sound, %d failed, %d skipped%n", checked, failed.size(), skipped);
        out.flush();
        if (failed.isEmpty()) {
            return 0;
        }
        String first = failed.get(0).line().substring(SconeFiles.Outcome.FAIL.name().length()).strip();
        err.println("scone verify: " + first + (failed.size() > 1 ? " (and " + (failed.size() - 1)
                + " more problems, listed above)" : ""));
        err.flush();
        return CliErrors.INPUT_ERROR;
    }
}
