package io.iotpipe.lake;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.stream.Collectors;

/**
 * An independent reader: DuckDB (its own Parquet code, none of Iceberg's or parquet-java's) over the data files of
 * the current snapshot, as listed by the table.
 */
final class DuckDbReader {

  record Result(long rows, long distinctKeys, long duplicatedKeys, String tsType) {}

  static Result read(List<Path> files) throws SQLException {
    if (files.isEmpty()) {
      return new Result(0, 0, 0, null);
    }
    String list = files.stream().map(p -> "'" + p.toString().replace("'", "''") + "'").collect(Collectors.joining(",", "[", "]"));
    // hive_partitioning off: the event_day=… folder is Iceberg's business, the rows carry ts themselves.
    String src = "read_parquet(" + list + ", hive_partitioning = false)";
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      long rows = one(s, "SELECT count(*) FROM " + src);
      long distinct = one(s, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM " + src + ")");
      long dups = one(s, "SELECT count(*) FROM (SELECT device_id, seq FROM " + src + " GROUP BY ALL HAVING count(*) > 1)");
      String tsType;
      try (ResultSet r = s.executeQuery("SELECT column_type FROM (DESCRIBE SELECT ts FROM " + src + ")")) {
        r.next();
        tsType = r.getString(1);
      }
      return new Result(rows, distinct, dups, tsType);
    }
  }

  private static long one(Statement s, String sql) throws SQLException {
    try (ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }
}
