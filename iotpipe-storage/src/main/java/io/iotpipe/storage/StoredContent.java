package io.iotpipe.storage;

import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Compares readings with the rows the store holds for their keys, by reading the Parquet files of the reading's event
 * hour with DuckDB. For keys whose fingerprint has left the commit log's in-memory window: slow (tens of
 * milliseconds per hour read), so only for old redeliveries, which are rare.
 */
final class StoredContent {

  private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("HH").withZone(ZoneOffset.UTC);

  /** Same as stored, different from stored, or cannot tell (no readable file: hour dropped, no Parquet format). */
  enum Match { SAME, DIFFERENT, UNKNOWN }

  private StoredContent() {}

  /**
   * For each reading (whose key the commit log holds), in order. A key absent from the files of its reading's hour is
   * stored under another event time, so its content differs.
   */
  static List<Match> compare(Path store, List<String> metrics, List<Telemetry> readings) {
    Map<Telemetry, Match> out = new java.util.IdentityHashMap<>();
    Map<Path, List<Telemetry>> byHour = new LinkedHashMap<>();
    for (Telemetry t : readings) {
      var h = t.ts().truncatedTo(ChronoUnit.HOURS);
      byHour.computeIfAbsent(store.resolve("date=" + DATE.format(h)).resolve("hour=" + HOUR.format(h)), k -> new ArrayList<>()).add(t);
    }
    for (var e : byHour.entrySet()) {
      List<Path> files;
      files = new ArrayList<>();
      if (Files.isDirectory(e.getKey())) {
        try (var ds = Files.newDirectoryStream(e.getKey(), "*.parquet")) {
          var superseded = Compactor.supersededInputs(store);
          for (Path f : ds) {
            if (!f.getFileName().toString().startsWith(".") && !superseded.contains(f.toAbsolutePath().normalize())) {
              files.add(f);
            }
          }
        } catch (IOException | RuntimeException ex) {
          files.clear();
        }
      }
      if (files.isEmpty()) {
        e.getValue().forEach(t -> out.put(t, Match.UNKNOWN));
        continue;
      }
      Map<String, Telemetry> stored = read(files, metrics, e.getValue());
      for (Telemetry t : e.getValue()) {
        if (stored == null) {
          out.put(t, Match.UNKNOWN);
        } else {
          Telemetry s = stored.get(t.id());
          out.put(t, s != null && Fingerprint.of(s) == Fingerprint.of(t) ? Match.SAME : Match.DIFFERENT);
        }
      }
    }
    return readings.stream().map(out::get).toList();
  }

  /** The stored rows of these readings' keys in {@code files}, by id; null when the files cannot be read. */
  private static Map<String, Telemetry> read(List<Path> files, List<String> metrics, List<Telemetry> readings) {
    String devices = readings.stream().map(t -> "'" + t.deviceId().replace("'", "''") + "'").distinct().collect(Collectors.joining(", "));
    String seqs = readings.stream().map(t -> Long.toString(t.seq())).distinct().collect(Collectors.joining(", "));
    try (Connection db = DriverManager.getConnection("jdbc:duckdb:"); Statement s = db.createStatement()) {
      s.execute("SET threads = 1");
      String list = Compactor.fileList(files);
      String sql = "SELECT " + Compactor.rowColumns(s, list, metrics) + " FROM read_parquet([" + list
          + "], union_by_name = true) WHERE device_id IN (" + devices + ") AND seq IN (" + seqs + ")";
      try (ResultSet rs = s.executeQuery(sql)) {
        Map<String, Telemetry> out = new HashMap<>();
        Compactor.RowIterator it = new Compactor.RowIterator(rs, metrics);
        while (it.hasNext()) {
          Telemetry t = it.next();
          out.putIfAbsent(t.id(), t);
        }
        return out;
      }
    } catch (SQLException | RuntimeException e) {
      return null;
    }
  }
}
