package io.iotpipe.cli.lake;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.lake.LakeReader;
import io.iotpipe.lake.LakeSection;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe lake info|scan|files}: where the lake's Iceberg table is, and what its current snapshot holds. */
@Command(name = "lake", mixinStandardHelpOptions = true,
    description = "The lake's Apache Iceberg table (the `lake:` section): where it is and what its current snapshot holds.",
    subcommands = {LakeCommand.Info.class, LakeCommand.Scan.class, LakeCommand.Files.class, LakeCommand.Snapshots.class,
        LakeCommand.Freshness.class})
public final class LakeCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  static LakeReader open(ConfigOption config) {
    LakeSection.Settings s = config.loadSections("lake").section(LakeSection.SECTION);
    return new LakeReader(s);
  }

  /** Errors of the catalog or the object store as one line that names what to check, not a stack trace. */
  public static CommandFailure failure(RuntimeException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new CommandFailure(ExitCode.FAILED, "cannot read the lake's table: " + m
        + " (check lake.catalog.uri, lake.warehouse, lake.s3.endpoint and the keys' environment variables)");
  }

  @Command(name = "info", mixinStandardHelpOptions = true,
      description = "Where the table is (catalog, warehouse, table, metadata file) and its current snapshot: rows, files, bytes, columns.")
  static final class Info implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      Map<String, Object> d;
      try (LakeReader r = open(config)) {
        d = r.describe();
      } catch (IllegalStateException | IllegalArgumentException | org.apache.iceberg.exceptions.RuntimeIOException
               | software.amazon.awssdk.core.exception.SdkException e) {
        throw failure(e);
      }
      if (json) {
        new Output().printJson(d);
      } else {
        d.forEach((k, v) -> System.out.printf("%-16s %s%n", k, v instanceof List<?> l ? String.join(", ", l.stream().map(String::valueOf).toList()) : v));
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "scan", mixinStandardHelpOptions = true,
      description = "Rows of the current snapshot (Iceberg's generic reader) as JSON lines or CSV.")
  static final class Scan implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--device", description = "Only this device's rows.")
    String device;

    @Option(names = "--limit", defaultValue = "20", description = "At most this many rows, 0 for all (default: ${DEFAULT-VALUE}).")
    long limit;

    @Option(names = "--csv", description = "CSV with a header instead of JSON lines.")
    boolean csv;

    @Override
    public Integer call() {
      // one row per line (JSON lines), whatever the shared mapper's indentation
      var json = Output.json().writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
      boolean[] header = {false};
      try (LakeReader r = open(config)) {
        r.scan(device, limit, row -> {
          row.replaceAll((k, v) -> v instanceof OffsetDateTime t ? t.withOffsetSameInstant(ZoneOffset.UTC).toString() : v);
          if (csv) {
            if (!header[0]) {
              System.out.println(String.join(",", row.keySet()));
              header[0] = true;
            }
            System.out.println(row.values().stream().map(Scan::csv).collect(Collectors.joining(",")));
          } else {
            try {
              System.out.println(json.writeValueAsString(row));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
              throw new IllegalStateException(e);
            }
          }
        });
      } catch (IllegalStateException | IllegalArgumentException | org.apache.iceberg.exceptions.RuntimeIOException
               | software.amazon.awssdk.core.exception.SdkException e) {
        throw failure(e);
      }
      return ExitCode.OK;
    }

    private static String csv(Object v) {
      String s = v == null ? "" : v.toString();
      return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
  }

  @Command(name = "files", mixinStandardHelpOptions = true,
      description = "The current snapshot's data files (Parquet), one URI a line: for readers without Iceberg support.")
  static final class Files implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Override
    public Integer call() {
      try (LakeReader r = open(config)) {
        r.dataFiles().forEach(System.out::println);
      } catch (IllegalStateException | IllegalArgumentException | org.apache.iceberg.exceptions.RuntimeIOException
               | software.amazon.awssdk.core.exception.SdkException e) {
        throw failure(e);
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "snapshots", mixinStandardHelpOptions = true,
      description = "The snapshots kept, oldest first (id, commit time, operation, partition, rows added, rows): what `query --as-of` can read.")
  static final class Snapshots implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      List<Map<String, Object>> all;
      try (LakeReader r = open(config)) {
        all = r.snapshots();
      } catch (IllegalStateException | IllegalArgumentException | org.apache.iceberg.exceptions.RuntimeIOException
               | software.amazon.awssdk.core.exception.SdkException e) {
        throw failure(e);
      }
      if (json) {
        new Output().printJson(all);
      } else {
        System.out.printf("%-20s  %-24s  %-9s  %-12s  %10s  %12s%n", "snapshot", "committed at", "operation", "partition", "added rows", "rows");
        for (Map<String, Object> s : all) {
          System.out.printf("%-20s  %-24s  %-9s  %-12s  %10d  %12d%s%n", s.get("snapshot"), s.get("committedAt"), s.get("operation"),
              s.get("partition") == null ? "-" : s.get("partition"), s.get("addedRows"), s.get("rows"), Boolean.TRUE.equals(s.get("current")) ? "  (current)" : "");
        }
      }
      return ExitCode.OK;
    }
  }

  @Command(name = "freshness", mixinStandardHelpOptions = true,
      description = "Device → queryable, read from the table: for the readings committed in the last --since, the time from"
          + " their ts to the commit that made them readable (p50, p99, max), against the storage freshness SLO.")
  static final class Freshness implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--since", defaultValue = "15m", paramLabel = "DURATION",
        description = "How far back to look (default: ${DEFAULT-VALUE}); every reading committed since is read (column ts only).")
    String since;

    @Option(names = "--json", description = "Print as JSON.")
    boolean json;

    @Override
    public Integer call() {
      java.time.Instant from = java.time.Instant.now().minus(io.iotpipe.cli.DurationOption.parse("--since", since));
      Map<String, Object> f;
      try (LakeReader r = open(config)) {
        f = r.freshness(from);
      } catch (IllegalStateException | IllegalArgumentException | org.apache.iceberg.exceptions.RuntimeIOException
               | software.amazon.awssdk.core.exception.SdkException e) {
        throw failure(e);
      }
      if (json) {
        new Output().printJson(f);
      } else if (((Number) f.get("readings")).longValue() == 0) {
        System.out.println("no reading committed since " + from + " (" + f.get("commits") + " commits)");
      } else {
        System.out.printf("device -> queryable since %s: %s readings in %s commits, p50 %s ms, p99 %s ms, max %s ms%n",
            from, f.get("readings"), f.get("commits"), f.get("p50Ms"), f.get("p99Ms"), f.get("maxMs"));
      }
      return ExitCode.OK;
    }
  }
}
