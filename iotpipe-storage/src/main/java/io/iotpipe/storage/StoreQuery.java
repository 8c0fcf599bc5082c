package io.iotpipe.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * DuckDB over the store, with a view {@code telemetry} of every committed Parquet file (Hive columns {@code date} and
 * {@code hour} included). Inputs of a compaction whose output is already in place are left out, so a query never
 * counts a row twice while {@link Compactor} swaps files.
 */
public final class StoreQuery implements AutoCloseable {

  /** A query result: column names and rows. */
  public record Result(List<String> columns, List<List<Object>> rows) {}

  private final Connection db;

  public StoreQuery(Path store) {
    try {
      Class.forName("org.duckdb.DuckDBDriver");
      db = DriverManager.getConnection("jdbc:duckdb:");
      List<Path> files = visibleFiles(store);
      if (files.isEmpty()) {
        throw new IllegalStateException("no Parquet files under " + store.toAbsolutePath()
            + " yet: is `iotpipe store` (or `iotpipe run --role store`) running? Rows become visible within storage.rollAge");
      }
      String list = files.stream().map(f -> "'" + f.toAbsolutePath().toString().replace("'", "''") + "'").collect(Collectors.joining(", "));
      try (Statement s = db.createStatement()) {
        s.execute("SET TimeZone = 'UTC'");
        s.execute("CREATE VIEW telemetry AS SELECT * FROM read_parquet([" + list + "], hive_partitioning = true, union_by_name = true)");
      }
    } catch (SQLException | ClassNotFoundException | IOException e) {
      throw new IllegalStateException("cannot open the store " + store + " with DuckDB: " + e.getMessage(), e);
    }
  }

  static List<Path> visibleFiles(Path store) throws IOException {
    Set<Path> superseded = Compactor.supersededInputs(store);
    List<Path> out = new ArrayList<>();
    for (Path f : StorageSink.dataFiles(store, "parquet")) {
      if (!superseded.contains(f.toAbsolutePath().normalize())) {
        out.add(f);
      }
    }
    return out;
  }

  public Result query(String sql) {
    return query(db, sql);
  }

  /** {@code sql} on any DuckDB connection with a {@code telemetry} view (the store's, or the lake table's). */
  public static Result query(Connection db, String sql) {
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      ResultSetMetaData md = rs.getMetaData();
      List<String> cols = new ArrayList<>();
      for (int i = 1; i <= md.getColumnCount(); i++) {
        cols.add(md.getColumnLabel(i));
      }
      List<List<Object>> rows = new ArrayList<>();
      while (rs.next()) {
        List<Object> row = new ArrayList<>(cols.size());
        for (int i = 1; i <= cols.size(); i++) {
          Object v = rs.getObject(i);
          row.add(v instanceof java.time.temporal.TemporalAccessor || v instanceof java.sql.Timestamp ? v.toString() : v);
        }
        rows.add(row);
      }
      return new Result(cols, rows);
    } catch (SQLException e) {
      throw new IllegalArgumentException(e.getMessage().lines().findFirst().orElse("query failed"), e);
    }
  }

  public Connection connection() {
    return db;
  }

  @Override
  public void close() {
    try {
      db.close();
    } catch (SQLException ignored) {
      // closing an in-memory database
    }
  }
}
