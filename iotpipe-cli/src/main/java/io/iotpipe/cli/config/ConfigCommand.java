package io.iotpipe.cli.config;

import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.ConfigReference;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code iotpipe config check FILE}: validates a configuration and lists every problem with its key path;
 * {@code iotpipe config reference}: every key with its type, range, default and meaning, as Markdown.
 */
@Command(name = "config", description = "Work with the pipeline configuration file.",
    mixinStandardHelpOptions = true, subcommands = {ConfigCommand.Check.class, ConfigCommand.Reference.class})
public final class ConfigCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate FILE: reports every error at once with its key path; exit 2 when invalid.")
  static final class Check implements Callable<Integer> {

    /** The file as a positional argument or, like every other command, as {@code --config FILE}: not both. */
    static final class Source {
      @Parameters(paramLabel = "FILE", description = "Configuration file (default: iotpipe.yaml).")
      Path positional;

      @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "Same as FILE.")
      Path option;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Source source;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      Path file = source == null ? Path.of("iotpipe.yaml") : source.positional != null ? source.positional : source.option;
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

  @Command(name = "reference", mixinStandardHelpOptions = true,
      description = "Print every configuration key with its type, range, default and meaning (Markdown, as in the README).")
  static final class Reference implements Callable<Integer> {

    @Option(names = "--json", description = "Print the keys as JSON.")
    boolean json;

    @Override
    public Integer call() {
      if (json) {
        new Output().printJson(ConfigReference.entries().stream().map(e -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("path", e.key().path());
          m.put("type", e.key().type());
          m.put("required", e.key().required());
          m.put("default", e.defaultText().replace("`", ""));
          m.put("description", e.description());
          return m;
        }).toList());
      } else {
        System.out.print(ConfigReference.markdown());
      }
      return ExitCode.OK;
    }
  }
}
