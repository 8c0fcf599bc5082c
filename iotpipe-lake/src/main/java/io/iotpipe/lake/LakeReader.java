package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;

/**
 * Reads the telemetry table's current snapshot for operators: where it is and what it holds ({@link #describe()}),
 * its rows ({@link #scan}) and its keys for the audit ({@link #keys}). Iceberg's generic reader does the work:
 * manifests, deletes and schema evolution are the format's, not ours to re-implement.
 */
public final class LakeReader implements AutoCloseable {

  private final LakeSection.Settings settings;
  private final Catalog catalog;
  private final TableIdentifier id;

  public LakeReader(LakeSection.Settings settings) {
    this.settings = settings;
    this.catalog = settings.catalog().open();
    this.id = TableIdentifier.parse(settings.table());
  }

  /** Whether the table exists yet (the lake role creates it at its first start). */
  public boolean exists() {
    return catalog.tableExists(id);
  }

  private Table table() {
    if (!exists()) {
      throw new IllegalStateException("no table " + settings.table() + " in " + settings.catalog()
          + " yet: the lake role creates it when it starts (iotpipe run --role lake)");
    }
    return catalog.loadTable(id);
  }

  /**
   * Where the table is and its current snapshot: what a data scientist's reader (Spark, Trino, pyiceberg, DuckDB)
   * needs to find it, without any secret.
   */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("table", settings.table());
    m.put("catalog", settings.catalog().catalogUri());
    m.put("catalogName", LakeCatalog.NAME);
    m.put("warehouse", settings.catalog().warehouse());
    m.put("s3Endpoint", settings.catalog().s3Endpoint() == null ? "AWS S3 (" + settings.catalog().region() + ")" : settings.catalog().s3Endpoint());
    if (!exists()) {
      m.put("exists", false);
      return m;
    }
    Table t = catalog.loadTable(id);
    m.put("exists", true);
    m.put("location", t.location());
    m.put("formatVersion", t.properties().getOrDefault("format-version", "2"));
    Snapshot s = t.currentSnapshot();
    m.put("snapshots", count(t.snapshots()));
    if (s == null) {
      m.put("rows", 0L);
      return m;
    }
    m.put("currentSnapshot", s.snapshotId());
    m.put("committedAt", Instant.ofEpochMilli(s.timestampMillis()).toString());
    m.put("metadataFile", ((org.apache.iceberg.HasTableOperations) t).operations().current().metadataFileLocation());
    Map<String, String> sum = s.summary();
    m.put("rows", Long.parseLong(sum.getOrDefault("total-records", "0")));
    m.put("dataFiles", Long.parseLong(sum.getOrDefault("total-data-files", "0")));
    m.put("deleteFiles", Long.parseLong(sum.getOrDefault("total-delete-files", "0")));
    m.put("bytes", Long.parseLong(sum.getOrDefault("total-files-size", "0")));
    m.put("columns", t.schema().columns().stream().map(c -> c.name() + " " + c.type()).toList());
    m.put("partitioning", t.spec().toString().replaceAll("\\s+", " "));
    return m;
  }

  private static long count(Iterable<?> it) {
    long n = 0;
    for (Object ignored : it) {
      n++;
    }
    return n;
  }

  /**
   * Rows of the current snapshot, optionally of one device, at most {@code limit} (0: all); each row as column to value.
   */
  public void scan(String device, long limit, Consumer<Map<String, Object>> row) {
    Table t = table();
    var b = IcebergGenerics.read(t);
    if (device != null) {
      b = b.where(Expressions.equal("device_id", device));
    }
    long n = 0;
    try (CloseableIterable<Record> rows = b.build()) {
      for (Record r : rows) {
        if (limit > 0 && n++ >= limit) {
          break;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (var f : r.struct().fields()) {
          m.put(f.name(), r.getField(f.name()));
        }
        row.accept(m);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every {@code (device_id, seq)} of the current snapshot, as many times as it occurs (duplicates included). */
  public void keys(KeyConsumer each) {
    Table t = table();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(t).select("device_id", "seq").build()) {
      for (Record r : rows) {
        each.accept((String) r.getField("device_id"), (Long) r.getField("seq"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The snapshots kept (oldest first): what {@code --as-of} can read. Each with its id, commit time, operation, the
   * source partitions it committed (the sink's snapshots, comma-separated), rows added and rows in the table after it.
   */
  public List<Map<String, Object>> snapshots() {
    Table t = table();
    Long current = t.currentSnapshot() == null ? null : t.currentSnapshot().snapshotId();
    List<Map<String, Object>> out = new ArrayList<>();
    List<Snapshot> all = new ArrayList<>();
    t.snapshots().forEach(all::add);
    all.sort(java.util.Comparator.comparingLong(Snapshot::timestampMillis).thenComparingLong(Snapshot::sequenceNumber));
    for (Snapshot s : all) {
      Map<String, Object> m = new LinkedHashMap<>();
      Map<String, String> sum = s.summary();
      m.put("snapshot", s.snapshotId());
      m.put("committedAt", Instant.ofEpochMilli(s.timestampMillis()).toString());
      m.put("operation", s.operation());
      List<String> partitions = CommitLedger.partitionsOf(s);
      m.put("partition", partitions.isEmpty() ? null : String.join(",", partitions)); // a sink commit holds several
      m.put("addedRows", Long.parseLong(sum.getOrDefault("added-records", "0")));
      m.put("addedDataFiles", Long.parseLong(sum.getOrDefault("added-data-files", "0")));
      m.put("dataFiles", Long.parseLong(sum.getOrDefault("total-data-files", "0")));
      m.put("rows", Long.parseLong(sum.getOrDefault("total-records", "0")));
      m.put("current", s.snapshotId() == (current == null ? -1 : current));
      out.add(m);
    }
    return out;
  }

  /**
   * Device → queryable: for each reading the sink committed since {@code since}, the time from its {@code ts} (when
   * the device measured it) to the commit of the snapshot that made it readable (the snapshot's timestamp, on the
   * writer's clock). Read from the table itself — the snapshots' added data files, column {@code ts} only — so any
   * engine's view agrees. Device clocks that run ahead shorten the figure: compare it with the storage freshness SLO
   * on a fleet whose clocks are synchronised. Compaction's rewrite snapshots are skipped (they add no new reading).
   */
  public Map<String, Object> freshness(Instant since) {
    Table t = table();
    java.util.TreeMap<Long, Long> histogram = new java.util.TreeMap<>(); // milliseconds -> readings: exact, bounded
    long commits = 0;
    long readings = 0;
    org.apache.iceberg.Schema ts = t.schema().select("ts");
    for (Snapshot s : t.snapshots()) {
      if (s.timestampMillis() < since.toEpochMilli() || s.summary().get(CommitLedger.COMMIT_ID) == null) {
        continue;
      }
      commits++;
      for (DataFile f : org.apache.iceberg.SnapshotChanges.builderFor(t).snapshot(s).build().addedDataFiles()) {
        try (CloseableIterable<Record> rows = org.apache.iceberg.parquet.Parquet.read(t.io().newInputFile(f.location()))
            .project(ts).createReaderFunc(fs -> org.apache.iceberg.data.parquet.GenericParquetReaders.buildReader(ts, fs)).build()) {
          for (Record r : rows) {
            long ms = s.timestampMillis() - ((java.time.OffsetDateTime) r.getField("ts")).toInstant().toEpochMilli();
            histogram.merge(ms, 1L, Long::sum);
            readings++;
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("since", since.toString());
    m.put("commits", commits);
    m.put("readings", readings);
    if (readings > 0) {
      m.put("p50Ms", percentile(histogram, readings, 0.50));
      m.put("p99Ms", percentile(histogram, readings, 0.99));
      m.put("maxMs", histogram.lastKey());
    }
    return m;
  }

  /** The smallest latency at or below which a share {@code q} of the readings lie (nearest rank). */
  static long percentile(java.util.TreeMap<Long, Long> histogram, long total, double q) {
    long rank = Math.max(1, (long) Math.ceil(q * total));
    long seen = 0;
    for (var e : histogram.entrySet()) {
      seen += e.getValue();
      if (seen >= rank) {
        return e.getKey();
      }
    }
    return histogram.lastKey();
  }

  /** The current snapshot's data files (their URIs), e.g. for a reader that has no Iceberg support. */
  public List<String> dataFiles() {
    Table t = table();
    List<String> out = new ArrayList<>();
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        DataFile f = task.file();
        out.add(f.location());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @FunctionalInterface
  public interface KeyConsumer {
    void accept(String device, long seq);
  }

  @Override
  public void close() {
    if (catalog instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        // closing the catalog's connection pool: nothing to recover
      }
    }
  }
}
