package io.iotpipe.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.storage.format.ParquetFormat;
import io.iotpipe.storage.format.StoreSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Properties;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Merges the many files of a closed hour (one per commit and partition) into one, with the same schema.
 *
 * <p>Atomic for readers: the merged file is written hidden, then a compaction record naming inputs and output is
 * written (the commit point), then the output is renamed into place and the inputs are deleted. {@link StoreQuery}
 * leaves out the inputs of a record whose output exists, so it never sees a row twice or misses one; a crash at
 * any point is finished by the next run ({@link #recover}). Plain glob readers (pandas, Spark) can see both for the
 * milliseconds between the rename and the deletes: compaction only touches hours closed for {@code minAge}.
 */
public final class Compactor {

  private static final ObjectMapper JSON = new ObjectMapper();

  public record Result(int hours, int filesBefore, int filesAfter, long rows) {}

  private Compactor() {}

  static Path recordsDir(Path store) {
    return store.resolve("_state").resolve("_compaction");
  }

  /** Inputs of compactions whose output is already visible (absolute, normalized). */
  static Set<Path> supersededInputs(Path store) throws IOException {
    Set<Path> out = new HashSet<>();
    Path dir = recordsDir(store);
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      for (Path r : ds) {
        JsonNode rec = JSON.readTree(r.toFile());
        if (Files.exists(store.resolve(rec.path("output").asText()))) {
          rec.path("inputs").forEach(i -> out.add(store.resolve(i.asText()).toAbsolutePath().normalize()));
        }
      }
    }
    return out;
  }

  /** Finishes compactions interrupted by a crash. */
  public static void recover(Path store) throws IOException {
    Path dir = recordsDir(store);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      for (Path r : ds) {
        finish(store, JSON.readTree(r.toFile()), r);
      }
    }
  }

  private static void finish(Path store, JsonNode rec, Path record) throws IOException {
    Path tmp = store.resolve(rec.path("tmp").asText());
    Path output = store.resolve(rec.path("output").asText());
    if (Files.exists(tmp) && !Files.exists(output)) {
      Files.move(tmp, output, StandardCopyOption.ATOMIC_MOVE);
      CommitLog.fsyncDir(output.getParent());
    }
    if (Files.exists(output)) {
      for (JsonNode i : rec.path("inputs")) {
        Files.deleteIfExists(store.resolve(i.asText()));
      }
      CommitLog.fsyncDir(output.getParent());
    }
    Files.deleteIfExists(record);
  }

  /**
   * Compacts every hour that ended at least {@code minAge} ago and has more than one Parquet file. Waits while
   * another process (a store instance's housekeeping, another {@code storage compact}) works on the store.
   */
  public static Result compact(Path store, List<String> metrics, Duration minAge, Clock clock) throws IOException {
    try (StoreLock lock = StoreLock.acquire(store, true)) {
      return compactLocked(store, metrics, minAge, clock);
    }
  }

  /** As {@link #compact}, but returns null at once if another process is working on the store. */
  public static Result tryCompact(Path store, List<String> metrics, Duration minAge, Clock clock) throws IOException {
    try (StoreLock lock = StoreLock.acquire(store, false)) {
      return lock == null ? null : compactLocked(store, metrics, minAge, clock);
    }
  }

  /** As {@link #compact}, for a caller that holds the {@link StoreLock}. */
  static Result compactLocked(Path store, List<String> metrics, Duration minAge, Clock clock) throws IOException {
    recover(store);
    CommitLog.checkpointNow(store);
    Map<Path, List<Path>> byHour = new LinkedHashMap<>();
    // Files of commits not yet folded into a checkpoint stay: a writer catching up with those records checks that
    // their files are in place, and would raise an alarm for a merged-away one. They are merged by a later round.
    // Listed before the log is read: a file is only visible once its record exists, so none escapes the check.
    List<Path> candidates = StorageSink.dataFiles(store, "parquet");
    Set<Path> unfolded = CommitLog.unfoldedFiles(store);
    for (Path f : candidates) {
      if (!unfolded.contains(f.toAbsolutePath().normalize())) {
        byHour.computeIfAbsent(f.getParent(), k -> new ArrayList<>()).add(f);
      }
    }
    Instant closedBefore = clock.instant().minus(minAge);
    int hours = 0;
    int before = 0;
    int after = 0;
    long rows = 0;
    ParquetFormat parquet = new ParquetFormat(new StoreSchema(metrics));
    for (var e : byHour.entrySet()) {
      Instant hourEnd = hourOf(e.getKey()).plus(Duration.ofHours(1));
      if (e.getValue().size() < 2 || hourEnd.isAfter(closedBefore)) {
        continue;
      }
      String id = UUID.randomUUID().toString().substring(0, 8);
      Path output = e.getKey().resolve("compacted-" + id + ".parquet");
      Path tmp = e.getKey().resolve(".compacted-" + id + ".parquet.tmp");
      rows += copy(store, e.getValue(), metrics, parquet, tmp);
      CommitLog.fsync(tmp);
      ObjectNode rec = JSON.createObjectNode();
      rec.put("tmp", store.relativize(tmp).toString());
      rec.put("output", store.relativize(output).toString());
      var inputs = rec.putArray("inputs");
      e.getValue().forEach(i -> inputs.add(store.relativize(i).toString()));
      Files.createDirectories(recordsDir(store));
      Path record = recordsDir(store).resolve(id + ".json");
      CommitLog.writeSynced(record, JSON.writeValueAsBytes(rec));
      CommitLog.fsyncDir(recordsDir(store));
      finish(store, rec, record);
      hours++;
      before += e.getValue().size();
      after++;
    }
    return new Result(hours, before, after, rows);
  }

  private static Instant hourOf(Path hourDir) {
    String hour = hourDir.getFileName().toString().substring("hour=".length());
    String date = hourDir.getParent().getFileName().toString().substring("date=".length());
    return LocalDate.parse(date).atTime(Integer.parseInt(hour), 0).toInstant(ZoneOffset.UTC);
  }

  /**
   * Streams the rows of {@code files} through DuckDB, in (device, seq) order so the merged file compresses and
   * scans well, into {@code tmp}. Memory stays bounded however big the hour is: DuckDB streams its result and
   * spills the sort to disk, and the Parquet writer holds one row group. One DuckDB thread: housekeeping runs next
   * to the pipeline and must not take its cores.
   */
  private static long copy(Path store, List<Path> files, List<String> metrics, ParquetFormat parquet, Path tmp) throws IOException {
    String list = fileList(files);
    Properties props = new Properties();
    props.setProperty("jdbc_stream_results", "true");
    Path spill = store.resolve("_state").resolve(".compaction-spill");
    try (var db = java.sql.DriverManager.getConnection("jdbc:duckdb:", props); Statement s = db.createStatement()) {
      s.execute("SET threads = 1");
      s.execute("SET memory_limit = '256MB'");
      s.execute("SET temp_directory = '" + spill.toAbsolutePath() + "'");
      String cols = rowColumns(s, list, metrics);
      try (ResultSet rs = s.executeQuery("SELECT " + cols + " FROM read_parquet([" + list + "], union_by_name = true) ORDER BY device_id, seq")) {
        RowIterator it = new RowIterator(rs, metrics);
        parquet.write(tmp, it, t -> it.ingest);
        return it.count;
      }
    } catch (java.sql.SQLException | UncheckedIOException e) {
      throw new IOException("cannot compact " + files.size() + " files of " + files.get(0).getParent() + ": " + e.getMessage(), e);
    }
  }

  /** {@code ['a.parquet', 'b.parquet']} for DuckDB's {@code read_parquet}. */
  static String fileList(List<Path> files) {
    return String.join(", ", files.stream().map(f -> "'" + f.toAbsolutePath().toString().replace("'", "''") + "'").toList());
  }

  /**
   * The columns {@link RowIterator} reads, in its order. Files written before the contract's columns existed lack
   * them; when none of {@code files} has one, it is read as null (DuckDB's {@code union_by_name} fills a column only
   * when some file has it).
   */
  static String rowColumns(Statement s, String fileList, List<String> metrics) throws java.sql.SQLException {
    java.util.Set<String> present = new java.util.HashSet<>();
    try (ResultSet rs = s.executeQuery("DESCRIBE SELECT * FROM read_parquet([" + fileList + "], union_by_name = true)")) {
      while (rs.next()) {
        present.add(rs.getString(1));
      }
    }
    StringBuilder cols = new StringBuilder(
        "epoch_ms(ts), device_id, seq, site, region, status, error_code, to_json(extra_metrics)::VARCHAR, epoch_ms(ingest_ts)");
    for (String m : metrics) {
      cols.append(", \"").append(m.replace("\"", "\"\"")).append('"');
    }
    cols.append(present.contains("attributes") ? ", to_json(attributes)::VARCHAR" : ", NULL::VARCHAR");
    cols.append(present.contains("device_ts") ? ", epoch_ms(device_ts)" : ", NULL::BIGINT");
    cols.append(present.contains("clock_ahead") ? ", clock_ahead" : ", NULL::BOOLEAN");
    cols.append(present.contains("tenant") ? ", tenant" : ", NULL::VARCHAR");
    return cols.toString();
  }

  /** Rows of a DuckDB result as readings; {@link #ingest} is the ingest time of the row last returned. */
  static final class RowIterator implements Iterator<Telemetry> {
    private final ResultSet rs;
    private final List<String> metrics;
    private Boolean hasNext;
    long ingest;
    long count;

    RowIterator(ResultSet rs, List<String> metrics) {
      this.rs = rs;
      this.metrics = metrics;
    }

    @Override
    public boolean hasNext() {
      if (hasNext == null) {
        try {
          hasNext = rs.next();
        } catch (java.sql.SQLException e) {
          throw new UncheckedIOException(new IOException(e.getMessage(), e));
        }
      }
      return hasNext;
    }

    @Override
    public Telemetry next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      hasNext = null;
      try {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < metrics.size(); i++) {
          double v = rs.getDouble(10 + i);
          if (!rs.wasNull()) {
            m.put(metrics.get(i), v);
          }
        }
        String extra = rs.getString(8);
        if (extra != null && !extra.equals("null")) {
          JSON.readTree(extra).fields().forEachRemaining(f -> m.put(f.getKey(), f.getValue().asDouble()));
        }
        ingest = rs.getLong(9);
        int c = 10 + metrics.size();
        Map<String, String> attributes = new LinkedHashMap<>();
        String a = rs.getString(c);
        if (a != null && !a.equals("null")) {
          JSON.readTree(a).fields().forEachRemaining(f -> attributes.put(f.getKey(), f.getValue().asText()));
        }
        long deviceMillis = rs.getLong(c + 1);
        Instant deviceTs = rs.wasNull() ? null : Instant.ofEpochMilli(deviceMillis);
        boolean clockAhead = rs.getBoolean(c + 2);
        String tenant = rs.getString(c + 3);
        count++;
        return new Telemetry(rs.getString(2), rs.getLong(3), Instant.ofEpochMilli(rs.getLong(1)), rs.getString(4), rs.getString(5),
            rs.getString(6), rs.getString(7), m, attributes, deviceTs, clockAhead, tenant);
      } catch (java.sql.SQLException | IOException e) {
        throw new UncheckedIOException(new IOException(e.getMessage(), e));
      }
    }
  }
}
