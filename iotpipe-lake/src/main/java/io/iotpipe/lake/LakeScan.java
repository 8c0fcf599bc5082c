package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.HistoryEntry;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableScan;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;

/**
 * What a read of the telemetry table covers: which snapshot (the current one, one by id, or the one that was current at
 * a time) and which rows ({@code ts} from {@code since}, before {@code until}, of some devices). The row filter is an
 * Iceberg expression, so planning skips whole event days by the partition and whole files by their {@code ts} and
 * {@code device_id} statistics (tight, as every file is sorted by {@code (device_id, seq)}); rows of a kept file still
 * have to be filtered by the reader ({@link #sqlFilter()}).
 *
 * @param snapshotId a snapshot to read (null: by {@code asOf}, or the current one)
 * @param asOf       read the snapshot that was current at this time (null: now)
 * @param since      only rows with {@code ts >= since} (null: no bound)
 * @param until      only rows with {@code ts < until} (null: no bound)
 * @param devices    only these devices (empty: all)
 */
public record LakeScan(Long snapshotId, Instant asOf, Instant since, Instant until, List<String> devices) {

  public LakeScan {
    devices = devices == null ? List.of() : List.copyOf(devices);
    if (snapshotId != null && asOf != null) {
      throw new IllegalArgumentException("give a snapshot id or a time to read as of, not both");
    }
    if (since != null && until != null && !since.isBefore(until)) {
      throw new IllegalArgumentException("--since " + since + " is not before --until " + until + ": no row can match");
    }
  }

  /** Everything in the current snapshot. */
  public static LakeScan current() {
    return new LakeScan(null, null, null, null, List.of());
  }

  /**
   * The planned read: the snapshot (null when the table has none yet), the schema to show (a snapshot read as of an
   * earlier time shows the columns it had), and the files that may hold matching rows.
   */
  public record Plan(Snapshot snapshot, Schema schema, List<FileScanTask> tasks) {

    public long bytes() {
      return tasks.stream().mapToLong(t -> t.file().fileSizeInBytes()).sum();
    }

    /** Rows in the planned files (before the row filter): what a reader has to go through. */
    public long recordsInFiles() {
      return tasks.stream().mapToLong(t -> t.file().recordCount()).sum();
    }

    /** Whether some planned file has row-level deletes (this project's writer never writes any; other engines may). */
    public boolean hasDeletes() {
      return tasks.stream().anyMatch(t -> !t.deletes().isEmpty());
    }
  }

  /** The snapshot this scan reads, or null when the table has no snapshot yet (nothing committed). */
  public Snapshot snapshot(Table table) {
    if (snapshotId != null) {
      Snapshot s = table.snapshot(snapshotId);
      if (s == null) {
        throw new IllegalArgumentException("no snapshot " + snapshotId + " in the table: `iotpipe lake snapshots` lists the"
            + " ones kept (expired snapshots cannot be read)");
      }
      return s;
    }
    if (asOf == null) {
      return table.currentSnapshot();
    }
    // The snapshot log says which snapshot was current when: after a rollback an older snapshot may be current again,
    // so the newest snapshot by commit time is not the answer.
    HistoryEntry found = null;
    for (HistoryEntry e : table.history()) {
      if (e.timestampMillis() <= asOf.toEpochMilli()) {
        found = e;
      }
    }
    if (found == null) {
      List<HistoryEntry> log = table.history();
      throw new IllegalArgumentException("the table had no snapshot at " + asOf + (log.isEmpty() ? " (it has none yet)"
          : ": its oldest kept snapshot was committed at " + Instant.ofEpochMilli(log.get(0).timestampMillis())
          + " (older ones have expired); give a later time"));
    }
    return table.snapshot(found.snapshotId());
  }

  /** The row filter as an Iceberg expression (timestamps in microseconds, as Iceberg stores {@code timestamptz}). */
  public Expression filter() {
    Expression e = Expressions.alwaysTrue();
    if (since != null) {
      e = Expressions.and(e, Expressions.greaterThanOrEqual("ts", micros(since)));
    }
    if (until != null) {
      e = Expressions.and(e, Expressions.lessThan("ts", micros(until)));
    }
    if (!devices.isEmpty()) {
      e = Expressions.and(e, Expressions.in("device_id", devices.toArray(new Object[0])));
    }
    return e;
  }

  /** The same row filter for DuckDB (empty when there is none), applied to the rows of the planned files. */
  public String sqlFilter() {
    List<String> parts = new ArrayList<>();
    if (since != null) {
      parts.add("ts >= TIMESTAMPTZ '" + since + "'");
    }
    if (until != null) {
      parts.add("ts < TIMESTAMPTZ '" + until + "'");
    }
    if (!devices.isEmpty()) {
      parts.add("device_id IN (" + String.join(", ", devices.stream().map(LakeScan::quote).toList()) + ")");
    }
    return String.join(" AND ", parts);
  }

  static String quote(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  private static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
  }

  /** Plans the read: the snapshot, its schema and the data files that may hold matching rows. */
  public Plan plan(Table table) {
    Snapshot s = snapshot(table);
    if (s == null) {
      return new Plan(null, table.schema(), List.of());
    }
    // As Iceberg's engines do: the current snapshot is read with the table's current schema (a column added since its
    // commit reads as null), time travel with the schema its snapshot was written with.
    boolean timeTravel = snapshotId != null || asOf != null;
    Schema schema = !timeTravel || s.schemaId() == null ? table.schema() : table.schemas().getOrDefault(s.schemaId(), table.schema());
    TableScan scan = table.newScan().useSnapshot(s.snapshotId()).filter(filter());
    List<FileScanTask> tasks = new ArrayList<>();
    try (CloseableIterable<FileScanTask> planned = scan.planFiles()) {
      planned.forEach(tasks::add);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot plan the scan: " + e.getMessage(), e);
    }
    return new Plan(s, schema, tasks);
  }
}
