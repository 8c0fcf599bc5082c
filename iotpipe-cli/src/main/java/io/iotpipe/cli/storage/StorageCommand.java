package io.iotpipe.cli.storage;

import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.cli.DurationOption;
import io.iotpipe.storage.Compactor;
import io.iotpipe.storage.Retention;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe storage compact|retention}: housekeeping of the analytics store. */
@Command(name = "storage", mixinStandardHelpOptions = true, description = "Housekeeping of the analytics store.",
    subcommands = {StorageCommand.Compact.class, StorageCommand.RetentionCmd.class})
public final class StorageCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(name = "compact", mixinStandardHelpOptions = true,
      description = "Merge the small Parquet files of each closed hour into one (atomic for `iotpipe query`).")
  static final class Compact implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--min-age", defaultValue = "10m", description = "Only hours that ended at least this long ago (default: ${DEFAULT-VALUE}).")
    String minAge;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      IotpipeConfig cfg = config.loadSections("storage");
      Duration age = DurationOption.parse("--min-age", minAge);
      Compactor.Result r = Compactor.compact(cfg.storage().dir(), cfg.storage().metrics(), age, Clock.systemUTC());
      if (json) {
        new Output().printJson(r);
      } else {
        System.out.printf("compacted %d hours: %d files -> %d files, %d rows%n", r.hours(), r.filesBefore(), r.filesAfter(), r.rows());
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "retention", mixinStandardHelpOptions = true,
      description = "Delete day partitions older than storage.retention (or --keep).")
  static final class RetentionCmd implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--keep", description = "Override storage.retention, e.g. 90d.")
    String keep;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      IotpipeConfig cfg = config.loadSections("storage");
      Duration k = keep != null ? DurationOption.parse("--keep", keep) : cfg.storage().retention();
      if (k == null) {
        System.out.println("storage.retention is not set: keeping everything");
        return ExitCode.OK;
      }
      List<String> dropped = Retention.apply(cfg.storage().dir(), k, Clock.systemUTC());
      if (json) {
        new Output().printJson(Map.of("keep", k.toString(), "dropped", dropped));
      } else {
        System.out.println(dropped.isEmpty() ? "nothing older than " + k : "dropped " + dropped);
      }
      return ExitCode.OK;
    }
  }
}
