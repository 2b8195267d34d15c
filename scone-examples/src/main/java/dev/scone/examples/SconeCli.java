package dev.scone.examples;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The scone command line: one entry point whose subcommands run the pipeline's steps and the
 * end-to-end demo. Expected failures end a command with one line on stderr and exit status 2
 * ({@link CliErrors}); {@code --verbose} adds the stack trace.
 */
@Command(name = "scone", mixinStandardHelpOptions = true, version = "scone 0.1.0",
        description = "SCONE f-gram embedding layers: pipeline steps, demo and benchmarks.",
        subcommands = {TokenizeCommand.class, CountCommand.class, TrainCommand.class, EvalCommand.class, PrecomputeCommand.class,
            ExportCommand.class, GenerateCommand.class, VerifyCommand.class, DemoCommand.class, ExperimentCommand.class})
public final class SconeCli implements Callable<Integer> {

    @Option(names = CliErrors.VERBOSE, scope = ScopeType.INHERIT,
            description = "On a failure, print the stack trace as well as the one-line error.")
    boolean verbose;

    /**
     * Runs the command line and exits with its status.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Runs the command line without exiting; tests call this.
     *
     * @param args command-line arguments
     * @return the exit status
     */
    public static int runExample(String[] args) {
        CliSupport.configureOffline();
        return CliErrors.install(new CommandLine(new SconeCli())).execute(args);
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 0;
    }
}
