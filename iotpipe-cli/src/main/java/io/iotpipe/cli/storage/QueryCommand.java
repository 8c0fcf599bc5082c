package io.iotpipe.cli.storage;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.storage.StoreQuery;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code iotpipe query "SQL"}: DuckDB over the lake's Iceberg table (a snapshot of it) or the file store, with a
 * {@code telemetry} view.
 */
@Command(name = "query", mixinStandardHelpOptions = true,
    description = {"Run SQL (DuckDB) over the telemetry: the view `telemetry` has every committed row (columns ts, device_id, "
        + "seq, site, region, status, error_code, one per metric, extra_metrics, ingest_ts; the file store adds date, hour).",
        "Source: the lake's Iceberg table (its current snapshot, or --as-of) when the config has a `lake:` section, else "
            + "the file store; --from picks one. --since/--until/--device select rows (on the lake, before any file is read)."})
public final class QueryCommand implements IotpipeCommand, Callable<Integer> {

  enum Format { TABLE, CSV, JSON }

  @Mixin ConfigOption config;

  @Parameters(paramLabel = "SQL", defaultValue = "SELECT count(*) AS rows, count(DISTINCT device_id) AS devices, min(ts) AS first, max(ts) AS last FROM telemetry",
      description = "The query (default: a summary of the store).")
  String sql;

  @Option(names = "--format", defaultValue = "table", description = "table | csv | json (default: ${DEFAULT-VALUE}).")
  Format format;

  @Option(names = "--json", description = "Same as --format json.")
  boolean json;

  @Mixin TelemetrySource source;

  @Override
  public Integer call() throws Exception {
    StoreQuery.Result r;
    try (TelemetrySource.Opened in = source.open(config, new Output())) {
      r = StoreQuery.query(in.connection(), sql);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    }
    switch (json ? Format.JSON : format) {
      case JSON -> {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (List<Object> row : r.rows()) {
          Map<String, Object> m = new LinkedHashMap<>();
          for (int i = 0; i < r.columns().size(); i++) {
            m.put(r.columns().get(i), row.get(i));
          }
          rows.add(m);
        }
        new Output().printJson(rows);
      }
      case CSV -> {
        System.out.println(String.join(",", r.columns()));
        r.rows().forEach(row -> System.out.println(row.stream().map(QueryCommand::csv).collect(Collectors.joining(","))));
      }
      case TABLE -> table(r);
    }
    return ExitCode.OK;
  }

  private static String csv(Object v) {
    String s = v == null ? "" : v.toString();
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  private static void table(StoreQuery.Result r) {
    int[] w = new int[r.columns().size()];
    for (int i = 0; i < w.length; i++) {
      w[i] = r.columns().get(i).length();
      for (List<Object> row : r.rows()) {
        w[i] = Math.min(60, Math.max(w[i], String.valueOf(row.get(i)).length()));
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < w.length; i++) {
      sb.append(String.format("%-" + w[i] + "s  ", r.columns().get(i)));
    }
    System.out.println(sb.toString().stripTrailing());
    for (List<Object> row : r.rows()) {
      sb.setLength(0);
      for (int i = 0; i < w.length; i++) {
        String v = String.valueOf(row.get(i));
        sb.append(String.format("%-" + w[i] + "s  ", v.length() > 60 ? v.substring(0, 57) + "..." : v));
      }
      System.out.println(sb.toString().stripTrailing());
    }
    System.out.println("(" + r.rows().size() + " rows)");
  }
}
