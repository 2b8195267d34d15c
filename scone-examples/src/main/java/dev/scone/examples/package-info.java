/**
 * The {@code scone} command line ({@link dev.scone.examples.SconeCli}): one picocli subcommand per
 * pipeline step (tokenize, count, train, eval, precompute, export, generate, verify), the
 * end-to-end demo and the experiment, plus the checks that bind their files together
 * ({@link dev.scone.examples.TokenOrigins}, {@link dev.scone.examples.TrainedModels}). Errors are
 * one line on standard error with exit status 2 ({@link dev.scone.examples.CliErrors}).
 */
package dev.scone.examples;
