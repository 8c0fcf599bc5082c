package io.iotpipe.storage;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * Reads the store's committed readings back, one event hour at a time, as the readings the sinks were given (the
 * columns {@link Compactor} reads): what {@code iotpipe reindex} replays into the search engine. Rows stream from
 * DuckDB in chunks ({@code jdbc_stream_results}), with one thread and a memory cap, so an hour of any size is read in
 * bounded memory. Inputs of a finished compaction are left out, as in {@link StoreQuery}, so no row is read twice.
 */
public final class StoreReader {

  /** One event hour of the store: {@code date=…/hour=…} and its visible Parquet files. */
  public record Hour(Instant start, List<Path> files) {
    /** {@code 2026-12-07T08}: how progress, errors and checkpoints name the hour. */
    public String key() {
      return start.toString().substring(0, 13);
    }
  }

  private final Path store;
  private final List<String> metrics;

  /**
   * Refuses a store whose rows cannot rebuild the search index: one without Parquet files (the only format read
   * back), or one whose privacy settings changed identifying columns (the search engine holds them as sent).
   */
  public StoreReader(StorageConfig cfg) {
    this.store = cfg.dir();
    this.metrics = cfg.metrics();
    if (!cfg.formats().contains(StorageConfig.Format.PARQUET)) {
      throw new IllegalStateException("storage.formats is " + cfg.formats() + ": readings are read back from Parquet files only;"
          + " add parquet to storage.formats (new readings only) to make the store replayable");
    }
    for (String col : StorageConfig.Privacy.COLUMNS) {
      if (cfg.privacy().action(col) != StorageConfig.Action.KEEP) {
        throw new IllegalStateException("storage.privacy.columns." + col + " is " + cfg.privacy().action(col).name().toLowerCase()
            + ": the store does not hold the values the search index holds, so it cannot rebuild the index; rebuild from a store"
            + " written without privacy settings, or replay the dead letters / the edge instead");
      }
    }
    if (!Files.isDirectory(store)) {
      throw new IllegalStateException("the store " + store.toAbsolutePath() + " does not exist or is not readable: check storage.dir"
          + " (and that this machine mounts the store the store role writes)");
    }
  }

  /**
   * The hours holding readings whose event time lies in {@code [since, until)} (either may be null: unbounded), oldest
   * first.
   */
  public List<Hour> hours(Instant since, Instant until) throws IOException {
    Set<Path> superseded = Compactor.supersededInputs(store);
    List<Hour> out = new ArrayList<>();
    try (DirectoryStream<Path> days = Files.newDirectoryStream(store, "date=*")) {
      for (Path day : days) {
        LocalDate date;
        try {
          date = LocalDate.parse(day.getFileName().toString().substring(5));
        } catch (DateTimeParseException e) {
          continue; // not a partition of ours
        }
        try (DirectoryStream<Path> hours = Files.newDirectoryStream(day, "hour=*")) {
          for (Path hour : hours) {
            int h;
            try {
              h = Integer.parseInt(hour.getFileName().toString().substring(5));
            } catch (NumberFormatException e) {
              continue;
            }
            Instant start = date.atStartOfDay(ZoneOffset.UTC).toInstant().plus(h, ChronoUnit.HOURS);
            Instant end = start.plus(1, ChronoUnit.HOURS);
            if ((since != null && !end.isAfter(since)) || (until != null && !start.isBefore(until))) {
              continue;
            }
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(hour, "*.parquet")) {
              for (Path f : ds) {
                if (!f.getFileName().toString().startsWith(".") && !superseded.contains(f.toAbsolutePath().normalize())) {
                  files.add(f);
                }
              }
            }
            if (!files.isEmpty()) {
              files.sort(null);
              out.add(new Hour(start, files));
            }
          }
        }
      }
    }
    out.sort((a, b) -> a.start().compareTo(b.start()));
    return out;
  }

  /** How many rows the files of {@code hours} hold (from the Parquet footers: cheap), for progress. */
  public long rows(List<Hour> hours) {
    List<Path> files = hours.stream().flatMap(h -> h.files().stream()).toList();
    if (files.isEmpty()) {
      return 0;
    }
    try (Connection db = open(false); Statement s = db.createStatement();
         ResultSet rs = s.executeQuery("SELECT sum(num_rows) FROM parquet_file_metadata([" + Compactor.fileList(files) + "])")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new UncheckedIOException(new IOException("cannot read the Parquet footers under " + store + ": " + e.getMessage(), e));
    }
  }

  /**
   * Hands {@code replay} the readings of {@code hour} in {@code [since, until)}. When a file of the hour vanishes
   * while it is read (a compaction merged the hour meanwhile: its inputs are deleted once the merged file is in
   * place), the hour is listed again and handed over again from its start, so {@code replay} must be idempotent.
   */
  public void replay(Hour hour, Instant since, Instant until, java.util.function.Consumer<Iterator<Telemetry>> replay) throws IOException {
    Hour h = hour;
    for (int attempt = 1; ; attempt++) {
      try (Readings readings = readings(h, since, until)) {
        replay.accept(readings);
        return;
      } catch (UncheckedIOException e) {
        boolean gone = h.files().stream().anyMatch(f -> !Files.exists(f));
        if (!gone || attempt >= 3) {
          throw e;
        }
        Instant start = h.start();
        h = hours(start, start.plus(1, ChronoUnit.HOURS)).stream().filter(x -> x.start().equals(start)).findFirst()
            .orElse(new Hour(start, List.of()));
        if (h.files().isEmpty()) {
          return; // the hour was dropped meanwhile (retention): nothing left to replay
        }
      }
    }
  }

  /**
   * The readings of {@code hour} whose event time lies in {@code [since, until)}, streamed. Close the result: it holds a
   * DuckDB connection. A file that vanished meanwhile (a compaction finished) fails the read: list the hours again.
   */
  public Readings readings(Hour hour, Instant since, Instant until) {
    try {
      Connection db = open(true);
      try {
        Statement s = db.createStatement();
        String list = Compactor.fileList(hour.files());
        StringBuilder where = new StringBuilder(" WHERE true");
        if (since != null) {
          where.append(" AND epoch_ms(ts) >= ").append(since.toEpochMilli());
        }
        if (until != null) {
          where.append(" AND epoch_ms(ts) < ").append(until.toEpochMilli());
        }
        ResultSet rs = s.executeQuery("SELECT " + Compactor.rowColumns(s, list, metrics) + " FROM read_parquet([" + list
            + "], union_by_name = true)" + where);
        return new Readings(db, new Compactor.RowIterator(rs, metrics));
      } catch (SQLException | RuntimeException e) {
        db.close();
        throw e;
      }
    } catch (SQLException e) {
      throw new UncheckedIOException(new IOException("cannot read hour " + hour.key() + " of the store " + store + ": " + e.getMessage(), e));
    }
  }

  /** One hour's readings as they stream from the files; closing releases the DuckDB connection. */
  public static final class Readings implements Iterator<Telemetry>, AutoCloseable {
    private final Connection db;
    private final Compactor.RowIterator rows;

    private Readings(Connection db, Compactor.RowIterator rows) {
      this.db = db;
      this.rows = rows;
    }

    @Override
    public boolean hasNext() {
      return rows.hasNext();
    }

    @Override
    public Telemetry next() {
      return rows.next();
    }

    @Override
    public void close() {
      try {
        db.close();
      } catch (SQLException ignored) {
        // an in-memory database: nothing to save
      }
    }
  }

  /** One thread and a memory cap: a rebuild runs beside the roles and must not take the machine. */
  private static Connection open(boolean stream) throws SQLException {
    try {
      Class.forName("org.duckdb.DuckDBDriver");
    } catch (ClassNotFoundException e) {
      throw new SQLException("DuckDB driver missing from the class path", e);
    }
    Properties p = new Properties();
    if (stream) {
      p.setProperty("jdbc_stream_results", "true");
    }
    Connection db = DriverManager.getConnection("jdbc:duckdb:", p);
    try (Statement s = db.createStatement()) {
      s.execute("SET threads = 1");
      s.execute("SET memory_limit = '256MB'");
      s.execute("SET TimeZone = 'UTC'");
    }
    return db;
  }
}
