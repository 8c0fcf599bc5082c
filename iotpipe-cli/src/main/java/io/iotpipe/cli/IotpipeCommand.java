package io.iotpipe.cli;

/**
 * Marker for a top-level {@code iotpipe} subcommand (a picocli {@code @Command} class).
 *
 * <p>Each module contributes its commands through {@code META-INF/services/io.iotpipe.cli.IotpipeCommand}; the
 * CLI's main class loads them with {@link java.util.ServiceLoader}, so a module owns its command next to the code
 * it drives and the CLI module does not grow a switch over every feature.
 */
public interface IotpipeCommand {}
