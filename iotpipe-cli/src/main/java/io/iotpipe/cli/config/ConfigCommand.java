package io.iotpipe.cli.config;

import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code iotpipe config check FILE}: validates a configuration and lists every problem with its key path. */
@Command(name = "config", description = "Work with the pipeline configuration file.",
    mixinStandardHelpOptions = true, subcommands = ConfigCommand.Check.class)
public final class ConfigCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate FILE: reports every error at once with its key path; exit 2 when invalid.")
  static final class Check implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", defaultValue = "iotpipe.yaml", description = "Configuration file (default: ${DEFAULT-VALUE}).")
    Path file;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      Output out = new Output();
      try {
        IotpipeConfig c = IotpipeConfig.load(file);
        if (json) {
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("file", file.toString());
          r.put("valid", true);
          r.put("brokers", c.brokers().keySet());
          r.put("partitions", c.topology().partitions());
          r.put("sinks", c.topology().sinks());
          out.printJson(r);
        } else {
          System.out.printf("%s is valid: brokers %s, %d partitions, sinks %s%n", file, c.brokers().keySet(),
              c.topology().partitions(), c.topology().sinks());
        }
        return ExitCode.OK;
      } catch (ConfigException e) {
        if (json) {
          out.printJson(Map.of("file", file.toString(), "valid", false, "errors",
              e.errors().stream().map(er -> Map.of("path", er.path(), "message", er.message())).toList()));
        } else {
          System.err.println(e.getMessage());
        }
        return ExitCode.USAGE;
      }
    }

  }
}
