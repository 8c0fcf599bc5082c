package io.iotpipe.cli.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.Output;
import io.iotpipe.cli.TimeOption;
import io.iotpipe.lake.LakeQuery;
import io.iotpipe.lake.LakeScan;
import io.iotpipe.lake.LakeSection;
import io.iotpipe.storage.StoreQuery;
import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where {@code query} and {@code export} read telemetry from, as a DuckDB connection with a {@code telemetry} view:
 * the lake's Iceberg table ({@code lake:}) or the file store ({@code storage:}). One rule: {@code --from}, else the
 * lake when the config file has a {@code lake:} section, else the file store. Only the section read is checked and
 * its secrets resolved (a data scientist needs no broker password).
 */
public final class TelemetrySource {

  enum From { LAKE, STORE }

  @Option(names = "--from", description = "lake | store: the lake's Iceberg table or the file store's Parquet files "
      + "(default: the lake when the config has a `lake:` section, else the store).")
  From from;

  @Option(names = "--as-of", paramLabel = "TIME|SNAPSHOT",
      description = "Read the lake's table as it was: a snapshot id (`iotpipe lake snapshots`), or a date (UTC midnight) "
          + "or instant (2026-12-07T08:00:00Z): the snapshot current then (default: the current snapshot).")
  String asOf;

  @Option(names = "--since", paramLabel = "TIME", description = "Only readings with ts at or after this date or instant.")
  String since;

  @Option(names = "--until", paramLabel = "TIME", description = "Only readings with ts before this date or instant.")
  String until;

  @Option(names = "--device", paramLabel = "ID", split = ",", description = "Only these devices (repeat or comma-separate).")
  List<String> devices = new ArrayList<>();

  /** An open source: the connection with the view, what was read (for summaries), and what to close. */
  public record Opened(Connection connection, Map<String, Object> described, AutoCloseable closer) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      closer.close();
    }
  }

  /** The source this invocation reads. */
  From resolve(ConfigOption config) {
    if (from != null) {
      return from;
    }
    return hasLakeSection(config) ? From.LAKE : From.STORE;
  }

  private static boolean hasLakeSection(ConfigOption config) {
    if (config.file == null || !Files.isRegularFile(config.file)) {
      return false; // loading reports the missing file with its fix
    }
    try {
      JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(config.file.toFile());
      return root != null && root.has("lake");
    } catch (IOException e) {
      return false; // loading reports the syntax error with its position
    }
  }

  public Opened open(ConfigOption config, Output out) {
    Instant sinceAt = TimeOption.parse("--since", since);
    Instant untilAt = TimeOption.parse("--until", until);
    if (resolve(config) == From.STORE) {
      if (asOf != null) {
        throw new CommandFailure(ExitCode.USAGE, "--as-of reads an earlier snapshot of the lake's table; the file store "
            + "keeps no snapshots (use --from lake, with a `lake:` section in the config)");
      }
      var cfg = config.loadSections("storage");
      StoreQuery q;
      try {
        q = new StoreQuery(cfg.storage().dir());
      } catch (IllegalStateException e) {
        throw new CommandFailure(ExitCode.FAILED, e.getMessage());
      }
      String filter = new LakeScan(null, null, sinceAt, untilAt, devices).sqlFilter();
      if (!filter.isEmpty()) {
        try (Statement s = q.connection().createStatement()) {
          s.execute("ALTER VIEW telemetry RENAME TO telemetry_all");
          s.execute("CREATE VIEW telemetry AS SELECT * FROM telemetry_all WHERE " + filter);
        } catch (SQLException e) {
          q.close();
          throw new CommandFailure(ExitCode.FAILED, "cannot filter the store's view: " + e.getMessage());
        }
      }
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("source", "store");
      d.put("dir", cfg.storage().dir().toAbsolutePath().toString());
      return new Opened(q.connection(), d, q);
    }
    LakeSection.Settings settings = config.loadSections("lake").section(LakeSection.SECTION);
    LakeScan scan;
    try {
      scan = asOf == null ? new LakeScan(null, null, sinceAt, untilAt, devices)
          : asOf.matches("-?\\d+") ? new LakeScan(Long.parseLong(asOf), null, sinceAt, untilAt, devices)
          : new LakeScan(null, TimeOption.parse("--as-of", asOf), sinceAt, untilAt, devices);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    LakeQuery q;
    try {
      q = LakeQuery.open(settings, scan, out::progress);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage()); // --as-of names no snapshot the table has
    } catch (IllegalStateException | java.io.UncheckedIOException
             | software.amazon.awssdk.core.exception.SdkException e) {
      throw io.iotpipe.cli.lake.LakeCommand.failure(e);
    } finally {
      out.endProgress();
    }
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("source", "lake");
    d.put("table", settings.table());
    d.putAll(q.describe());
    return new Opened(q.connection(), d, q);
  }
}
