package dev.scone.examples;

import ai.djl.MalformedModelException;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.store.FgramStoreCorruptedException;
import dev.scone.store.StoreMismatchException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * How the {@code scone} command line reports failures. Expected failures (a missing, unreadable,
 * damaged or foreign file, files that do not belong together, a bad option) end the command with
 * one line on stderr, {@code scone COMMAND: what is wrong}, naming the file where there is one,
 * and exit status {@value #INPUT_ERROR}; {@code --verbose} adds the stack trace. Anything else is
 * a bug in scone: its stack trace is printed and the status is {@value #BUG}.
 */
final class CliErrors implements IExecutionExceptionHandler, IParameterExceptionHandler {

    /** Exit status of an expected failure: bad input or options. */
    static final int INPUT_ERROR = 2;

    /** Exit status of a bug. */
    static final int BUG = 1;

    /** The option that asks for stack traces. */
    static final String VERBOSE = "--verbose";

    /** Installs both handlers on a command line and returns it. */
    static CommandLine install(CommandLine cli) {
        CliErrors handler = new CliErrors();
        return cli.setExecutionExceptionHandler(handler).setParameterExceptionHandler(handler);
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine command, ParseResult parsed) {
        PrintWriter err = command.getErr();
        String line = describe(ex);
        if (line == null) {
            ex.printStackTrace(err);
            err.println(prefix(command) + "internal error (a bug in scone): " + ex);
            err.flush();
            return BUG;
        }
        if (verbose(parsed)) {
            ex.printStackTrace(err);
        }
        err.println(prefix(command) + line);
        err.flush();
        return INPUT_ERROR;
    }

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine command = ex.getCommandLine();
        PrintWriter err = command.getErr();
        String help = command.getCommandSpec().qualifiedName();
        err.println(prefix(command) + ex.getMessage() + " (" + help + " --help lists the options)");
        err.flush();
        return INPUT_ERROR;
    }

    /** {@code "scone eval: "} for a subcommand, {@code "scone: "} for the top level. */
    private static String prefix(CommandLine command) {
        return command.getCommandSpec().qualifiedName() + ": ";
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption(VERBOSE)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The one line for an expected failure, or null for a bug. The first expected failure in the
     * cause chain decides, so that a file error wrapped by a stream or a library still reads as
     * what it is.
     */
    static String describe(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String line = describeOne(t);
            if (line != null) {
                return line;
            }
        }
        return null;
    }

    private static String describeOne(Throwable t) {
        if (t instanceof SconeFormatException || t instanceof StoreMismatchException
                || t instanceof FgramStoreCorruptedException) {
            return t.getMessage();
        }
        if (t instanceof NoSuchFileException e) {
            return e.getFile() + ": no such file or folder";
        }
        if (t instanceof AccessDeniedException e) {
            return e.getFile() + ": permission denied";
        }
        if (t instanceof FileAlreadyExistsException e) {
            return e.getFile() + ": already exists";
        }
        if (t instanceof NotDirectoryException e) {
            return e.getFile() + ": not a folder";
        }
        if (t instanceof DirectoryNotEmptyException e) {
            return e.getFile() + ": the folder is not empty";
        }
        if (t instanceof FileSystemException e) {
            String reason = e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
            return e.getFile() + (e.getOtherFile() != null ? " -> " + e.getOtherFile() : "") + ": " + reason;
        }
        if (t instanceof MalformedModelException) {
            return "not a model this version of scone can read: " + t.getMessage();
        }
        if (t instanceof IOException || t instanceof IllegalArgumentException) {
            return t.getMessage() != null ? t.getMessage() : t.toString();
        }
        return null; // an UncheckedIOException's cause says more; anything else is a bug
    }

    private CliErrors() {}
}
