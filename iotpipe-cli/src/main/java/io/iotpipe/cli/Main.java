package io.iotpipe.cli;

import java.util.Comparator;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code iotpipe} command line. Subcommands are contributed by the modules (see {@link IotpipeCommand}). */
@Command(name = "iotpipe", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "IoT telemetry pipeline on RabbitMQ: edge -> shovel -> partitioned cloud -> Elasticsearch + analytics files.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns the exit code (tests call this in-process). */
  public static int run(String... args) {
    CommandLine cli = commandLine();
    return cli.execute(args);
  }

  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Main());
    ServiceLoader.load(IotpipeCommand.class).stream()
        .map(ServiceLoader.Provider::get)
        .sorted(Comparator.comparing(c -> c.getClass().getAnnotation(Command.class).name()))
        .forEach(cli::addSubcommand);
    cli.setCaseInsensitiveEnumValuesAllowed(true); // after adding subcommands: the setting propagates to them
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      // Expected failures are one clear line naming the fix; anything else keeps its stack trace for a bug report.
      Throwable t = ex;
      while (!(t instanceof CommandFailure) && t.getCause() != null && t.getCause() != t) {
        t = t.getCause();
      }
      if (t instanceof CommandFailure f) {
        cmd.getErr().println("iotpipe: " + f.getMessage());
        return f.exitCode();
      }
      // iotpipe's own exceptions (broker, topology, config) carry messages written for operators.
      if (ex.getClass().getName().startsWith("io.iotpipe.") && System.getenv("IOTPIPE_DEBUG") == null) {
        cmd.getErr().println("iotpipe: " + ex.getMessage());
        return ExitCode.FAILED;
      }
      ex.printStackTrace(cmd.getErr());
      return ExitCode.FAILED;
    });
    return cli;
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }
}
