package io.iotpipe.lake;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileAppender;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * SQL (DuckDB, in this process) over one snapshot of the telemetry table, wherever it lives: a view {@code telemetry}
 * with the snapshot's columns and only the rows {@link LakeScan} selects.
 *
 * <p>How: Iceberg's Java API plans the scan (snapshot, manifests, partition and file statistics pruning — the format's
 * rules, not ours), then the planned Parquet data files are copied to a local staging directory through the table's own
 * {@link FileIO} (S3, or read in place from a local warehouse) and DuckDB reads them with {@code read_parquet}. Why not
 * DuckDB on the table itself: its {@code iceberg} and {@code httpfs} extensions are downloaded at run time and cannot be
 * installed offline. Why files rather than rows through DuckDB's appender: DuckDB's Parquet reader is columnar, uses
 * the files' statistics and projections, and runs many times faster than Iceberg's row-by-row generic reader in Java;
 * the price is local disk for the planned files (filters keep it small). Files with row-level deletes (written by
 * another engine; this project's writer never writes them) are read through Iceberg's generic reader instead, which
 * applies the deletes, and staged as one Parquet file.
 */
public final class LakeQuery implements AutoCloseable {

  /** Parallel downloads while staging. */
  private static final int COPY_THREADS = 4;

  /** The view every query sees. */
  public static final String VIEW = "telemetry";

  private final LakeScan.Plan plan;
  private final Path staging;
  private final Connection db;
  private final long stagedBytes;
  private final int stagedFiles;
  private Catalog catalog;

  /**
   * Opens the catalog of {@code settings}, plans {@code scan} and prepares the view; {@code progress} receives a line
   * now and then while files are staged (for stderr).
   */
  public static LakeQuery open(LakeSection.Settings settings, LakeScan scan, Consumer<String> progress) {
    Catalog catalog = settings.catalog().open();
    try {
      TableIdentifier id = TableIdentifier.parse(settings.table());
      if (!catalog.tableExists(id)) {
        throw new IllegalStateException("no table " + settings.table() + " in " + settings.catalog()
            + " yet: the lake role creates it when it starts (iotpipe run --role lake)");
      }
      LakeQuery q = new LakeQuery(catalog.loadTable(id), scan, progress);
      q.catalog = catalog; // closed with the query: closing a catalog closes the FileIO its tables share
      return q;
    } catch (RuntimeException e) {
      closeQuietly(catalog);
      throw e;
    }
  }

  private static void closeQuietly(Object o) {
    if (o instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception ignored) {
        // the catalog's connection pool and clients: nothing to recover at the end
      }
    }
  }

  /** Over a table already loaded (tests, tools that hold one). */
  public LakeQuery(Table table, LakeScan scan, Consumer<String> progress) {
    this.plan = scan.plan(table);
    try {
      this.staging = Files.createTempDirectory("iotpipe-lake-query-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a staging directory in " + System.getProperty("java.io.tmpdir")
          + " (set -Djava.io.tmpdir to a writable disk with room for the planned files): " + e.getMessage(), e);
    }
    try {
      List<Path> files = plan.hasDeletes() ? List.of(materialize(table, scan)) : stage(table.io(), progress);
      boolean inPlace = !plan.hasDeletes() && table.io() instanceof LocalFileIO; // a local warehouse: nothing copied
      this.stagedFiles = inPlace ? 0 : files.size();
      this.stagedBytes = inPlace ? 0 : plan.hasDeletes() ? Files.size(files.get(0)) : plan.bytes();
      this.db = view(files, plan.schema(), scan.sqlFilter());
    } catch (IOException | SQLException | RuntimeException e) {
      deleteStaging();
      if (e instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException("cannot prepare the query over the table: " + e.getMessage(), e);
    }
  }

  /** The planned data files as local paths: read in place from a local warehouse, else copied here. */
  private List<Path> stage(FileIO io, Consumer<String> progress) throws IOException {
    List<FileScanTask> tasks = plan.tasks();
    if (io instanceof LocalFileIO) {
      return tasks.stream().map(t -> LocalFileIO.path(t.file().location())).toList();
    }
    // A few downloads at once: an object store's round trip, not the bandwidth, bounds small files fetched one by one.
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(COPY_THREADS, tasks.size())), r -> {
      Thread t = new Thread(r, "lake-query-stage");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<Path>> copies = new ArrayList<>();
      for (int i = 0; i < tasks.size(); i++) {
        FileScanTask task = tasks.get(i);
        Path target = staging.resolve(String.format("%06d.parquet", i));
        copies.add(pool.submit(() -> {
          InputFile in = io.newInputFile(task.file().location(), task.file().fileSizeInBytes());
          try (InputStream s = in.newStream()) {
            Files.copy(s, target, StandardCopyOption.REPLACE_EXISTING);
          }
          return target;
        }));
      }
      List<Path> out = new ArrayList<>();
      long total = plan.bytes();
      long done = 0;
      long lastReport = System.nanoTime();
      for (int i = 0; i < copies.size(); i++) {
        out.add(copies.get(i).get());
        done += tasks.get(i).file().fileSizeInBytes();
        if (System.nanoTime() - lastReport > 2_000_000_000L || i == copies.size() - 1 && copies.size() > 20) {
          progress.accept(String.format("staged %d of %d data files (%.1f of %.1f MB)", i + 1, copies.size(), done / 1e6, total / 1e6));
          lastReport = System.nanoTime();
        }
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while staging the table's data files", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new IOException("cannot copy a data file of the table: " + c.getMessage(), c);
    } finally {
      pool.shutdownNow();
    }
  }

  /** The matching rows of the snapshot through Iceberg's reader (which applies deletes), as one local Parquet file. */
  private Path materialize(Table table, LakeScan scan) throws IOException {
    Path target = staging.resolve("rows.parquet");
    Schema schema = plan.schema();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).useSnapshot(plan.snapshot().snapshotId())
             .where(scan.filter()).project(schema).build();
         FileAppender<Record> w = Parquet.write(org.apache.iceberg.Files.localOutput(target.toFile())).schema(schema)
             .createWriterFunc(GenericParquetWriter::create).overwrite().build()) {
      rows.forEach(w::add);
    }
    return target;
  }

  private static Connection view(List<Path> files, Schema schema, String filter) throws SQLException {
    try {
      Class.forName("org.duckdb.DuckDBDriver");
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("DuckDB's JDBC driver is not on the class path", e);
    }
    Connection db = DriverManager.getConnection("jdbc:duckdb:");
    try (Statement s = db.createStatement()) {
      s.execute("SET TimeZone = 'UTC'");
      Set<String> present = new HashSet<>();
      String source = null;
      if (!files.isEmpty()) {
        // hive_partitioning off: Iceberg's event_day=… folders are its business (and staged copies have none);
        // union_by_name: files written before a column was added lack it.
        source = "read_parquet(" + files.stream().map(p -> LakeScan.quote(p.toString())).collect(Collectors.joining(", ", "[", "]"))
            + ", hive_partitioning = false, union_by_name = true)";
        try (ResultSet r = s.executeQuery("DESCRIBE SELECT * FROM " + source)) {
          while (r.next()) {
            present.add(r.getString(1));
          }
        }
      }
      // The snapshot's columns in its order: a column no planned file has yet (a metric added later) reads as NULL,
      // with the table's type, as Iceberg's own readers show it.
      List<String> cols = new ArrayList<>();
      for (Types.NestedField f : schema.columns()) {
        cols.add(present.contains(f.name()) ? ident(f.name())
            : "CAST(NULL AS " + duckType(f.type()) + ") AS " + ident(f.name()));
      }
      String where = filter.isEmpty() ? "" : " WHERE " + filter;
      String from = source == null ? "" : " FROM " + source;
      if (source == null) {
        where = " WHERE false";
      }
      s.execute("CREATE VIEW " + VIEW + " AS SELECT " + String.join(", ", cols) + from + where);
      return db;
    } catch (SQLException | RuntimeException e) {
      db.close();
      throw e;
    }
  }

  static String ident(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  /** DuckDB's type for an Iceberg type (those a telemetry table can hold, and the common others). */
  static String duckType(Type t) {
    return switch (t.typeId()) {
      case TIMESTAMP -> ((Types.TimestampType) t).shouldAdjustToUTC() ? "TIMESTAMPTZ" : "TIMESTAMP";
      case STRING -> "VARCHAR";
      case LONG -> "BIGINT";
      case INTEGER -> "INTEGER";
      case DOUBLE -> "DOUBLE";
      case FLOAT -> "FLOAT";
      case BOOLEAN -> "BOOLEAN";
      case DATE -> "DATE";
      case DECIMAL -> "DECIMAL(" + ((Types.DecimalType) t).precision() + ", " + ((Types.DecimalType) t).scale() + ")";
      case MAP -> "MAP(" + duckType(((Types.MapType) t).keyType()) + ", " + duckType(((Types.MapType) t).valueType()) + ")";
      case LIST -> duckType(((Types.ListType) t).elementType()) + "[]";
      case BINARY, FIXED -> "BLOB";
      default -> "VARCHAR";
    };
  }

  /** A connection whose view {@value #VIEW} holds the selected rows; valid until {@link #close()}. */
  public Connection connection() {
    return db;
  }

  /** Where planned files are copied (removed on close). */
  Path staging() {
    return staging;
  }

  public LakeScan.Plan plan() {
    return plan;
  }

  /** What was read, for a summary: snapshot, its planned files, the files and bytes copied here to read them. */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("snapshot", plan.snapshot() == null ? null : plan.snapshot().snapshotId());
    m.put("committedAt", plan.snapshot() == null ? null : Instant.ofEpochMilli(plan.snapshot().timestampMillis()).toString());
    m.put("dataFiles", plan.tasks().size());
    m.put("stagedFiles", stagedFiles);
    m.put("stagedBytes", stagedBytes);
    return m;
  }

  private void deleteStaging() {
    try (Stream<Path> s = Files.walk(staging)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort: a temp directory
    }
  }

  @Override
  public void close() {
    try {
      db.close();
    } catch (SQLException ignored) {
      // an in-memory database
    }
    deleteStaging();
    closeQuietly(catalog);
  }
}
