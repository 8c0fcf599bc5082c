package io.iotpipe.cli.storage;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe export}: a time range, devices and columns of the telemetry as one file for tools that do not speak
 * Iceberg. DuckDB's {@code COPY} writes it (its own Parquet, JSON and CSV writers), from the same {@code telemetry}
 * view {@code query} uses, so an export holds exactly what a query would count. Feather and HDF5 are not offered
 * here: the file store's writers for them take readings as they arrive (one ingest time per file, the envelope's
 * columns), not table rows; they stay available as the file store's continuous outputs ({@code storage.formats}).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = {"Write telemetry (the lake's table or the file store, as `query` reads it) to one file: Parquet, JSON Lines or CSV.",
        "The file appears complete or not at all (written under a temporary name, then renamed)."})
public final class ExportCommand implements IotpipeCommand, Callable<Integer> {

  enum Format { PARQUET, JSONL, CSV }

  @Mixin ConfigOption config;

  @Mixin TelemetrySource source;

  @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE",
      description = "The file to write (.parquet, .jsonl, .jsonl.gz, .csv, .csv.gz); an existing file is replaced.")
  Path out;

  @Option(names = "--format", description = "parquet | jsonl | csv (default: from the file name).")
  Format format;

  @Option(names = "--columns", split = ",", paramLabel = "COL", description = "Only these columns, in this order (default: all).")
  List<String> columns = new ArrayList<>();

  @Option(names = "--json", description = "Print a summary as JSON (rows, file, bytes, source, snapshot).")
  boolean json;

  static Format formatOf(Path file) {
    String n = file.getFileName().toString().toLowerCase(Locale.ROOT).replaceFirst("\\.gz$", "");
    if (n.endsWith(".parquet")) {
      return Format.PARQUET;
    }
    if (n.endsWith(".jsonl") || n.endsWith(".ndjson") || n.endsWith(".json")) {
      return Format.JSONL;
    }
    if (n.endsWith(".csv")) {
      return Format.CSV;
    }
    if (n.endsWith(".arrow") || n.endsWith(".feather") || n.endsWith(".h5") || n.endsWith(".hdf5")) {
      throw new CommandFailure(ExitCode.USAGE, "export writes Parquet, JSON Lines or CSV; Feather and HDF5 files come from "
          + "the file store as it stores (storage.formats), or convert the Parquet export (pyarrow.feather, pandas.to_hdf)");
    }
    throw new CommandFailure(ExitCode.USAGE, "cannot tell the format of " + file.getFileName()
        + ": name it .parquet, .jsonl(.gz) or .csv(.gz), or pass --format");
  }

  @Override
  public Integer call() throws Exception {
    Format f = format != null ? format : formatOf(out);
    boolean gzip = out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz");
    if (gzip && f == Format.PARQUET) {
      throw new CommandFailure(ExitCode.USAGE, "Parquet is compressed inside (zstd): name the file .parquet, without .gz");
    }
    Path target = out.toAbsolutePath();
    if (target.getParent() != null && !Files.isDirectory(target.getParent())) {
      throw new CommandFailure(ExitCode.USAGE, "no directory " + target.getParent() + " to write " + out.getFileName() + " into");
    }
    Output o = new Output();
    long started = System.nanoTime();
    Map<String, Object> summary = new LinkedHashMap<>();
    try (TelemetrySource.Opened in = source.open(config, o); Statement s = in.connection().createStatement()) {
      List<String> have = new ArrayList<>();
      try (ResultSet r = s.executeQuery("SELECT column_name FROM (DESCRIBE telemetry)")) {
        while (r.next()) {
          have.add(r.getString(1));
        }
      }
      for (String c : columns) {
        if (!have.contains(c)) {
          throw new CommandFailure(ExitCode.USAGE, "no column " + c + " to export; the columns are " + String.join(", ", have));
        }
      }
      String select = columns.isEmpty() ? "*" : String.join(", ", columns.stream().map(c -> "\"" + c.replace("\"", "\"\"") + "\"").toList());
      String options = switch (f) {
        case PARQUET -> "FORMAT parquet, COMPRESSION zstd";
        case JSONL -> "FORMAT json" + (gzip ? ", COMPRESSION gzip" : "");
        case CSV -> "FORMAT csv, HEADER true" + (gzip ? ", COMPRESSION gzip" : "");
      };
      // written beside the target under a hidden name, then renamed: a reader never sees half an export
      Path partial = target.resolveSibling("." + target.getFileName() + ".partial-" + UUID.randomUUID().toString().substring(0, 8));
      o.info("exporting " + (columns.isEmpty() ? "all columns" : columns.size() + " columns") + " to " + target + " (" + f.name().toLowerCase(Locale.ROOT) + ") ...");
      long rows;
      try {
        rows = copy(s, "COPY (SELECT " + select + " FROM telemetry ORDER BY device_id, seq) TO '"
            + partial.toString().replace("'", "''") + "' (" + options + ")");
        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (SQLException e) {
        throw new CommandFailure(ExitCode.FAILED, "cannot export: " + e.getMessage().lines().findFirst().orElse("DuckDB failed"));
      } finally {
        Files.deleteIfExists(partial);
      }
      summary.put("file", target.toString());
      summary.put("format", f.name().toLowerCase(Locale.ROOT));
      summary.put("rows", rows);
      summary.put("bytes", Files.size(target));
      summary.put("columns", columns.isEmpty() ? have : columns);
      summary.putAll(in.described());
    }
    summary.put("seconds", Math.round((System.nanoTime() - started) / 1e7) / 100.0);
    if (json) {
      o.printJson(summary);
    } else {
      System.out.printf("exported %,d rows to %s (%,d bytes, %s s)%n", summary.get("rows"), summary.get("file"), summary.get("bytes"), summary.get("seconds"));
    }
    return ExitCode.OK;
  }

  /** Runs a COPY and returns the rows it wrote (DuckDB answers with a count). */
  private static long copy(Statement s, String sql) throws SQLException {
    if (s.execute(sql)) {
      try (ResultSet r = s.getResultSet()) {
        return r.next() ? r.getLong(1) : 0;
      }
    }
    return s.getUpdateCount();
  }
}
