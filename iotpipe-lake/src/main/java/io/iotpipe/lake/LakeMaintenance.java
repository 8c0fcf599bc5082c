package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.RewriteFiles;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.util.SnapshotUtil;

/**
 * Table maintenance as plain methods the runtime schedules (no threads of its own), each one Iceberg commit that is
 * safe while writers commit: compaction, snapshot expiry, orphan removal, retention.
 *
 * <p>Compaction is hand-written over Iceberg core's {@code RewriteFiles} because Iceberg's rewrite action lives in its
 * Spark and Flink modules; it reads the chosen files with Iceberg's own generic Parquet reader.
 */
public final class LakeMaintenance {

  /** What a compaction did, for logs and the bench: files per event day before and after. */
  public record Compacted(int days, int filesBefore, int filesAfter, long rows) {}

  private final Table table;

  public LakeMaintenance(Table table) {
    this.table = table;
  }

  /**
   * Merges the files of every event day that has at least {@code minFiles} of them into one file sorted by
   * {@code (device_id, seq)}, at most {@code maxRows} rows per day and call (the rows of one rewrite are sorted in
   * memory). A {@code RewriteFiles} commit: readers see either the old files or the new one, never both; appends
   * committed meanwhile do not conflict (only a concurrent rewrite of the same files does, which then fails here).
   */
  public Compacted compact(int minFiles, long maxRows) {
    table.refresh();
    Snapshot base = table.currentSnapshot();
    if (base == null) {
      return new Compacted(0, 0, 0, 0);
    }
    Map<org.apache.iceberg.StructLike, List<DataFile>> byDay = new HashMap<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().useSnapshot(base.snapshotId()).planFiles()) {
      for (FileScanTask t : tasks) {
        if (t.file().specId() == table.spec().specId() && t.deletes().isEmpty()) {
          byDay.computeIfAbsent(t.file().partition(), p -> new ArrayList<>()).add(t.file());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int days = 0;
    int before = 0;
    int after = 0;
    long rows = 0;
    Schema schema = table.schema();
    for (List<DataFile> files : byDay.values()) {
      if (files.size() < minFiles) {
        continue;
      }
      List<DataFile> chosen = new ArrayList<>();
      long n = 0;
      for (DataFile f : files) {
        if (n + f.recordCount() > maxRows && !chosen.isEmpty()) {
          break;
        }
        chosen.add(f);
        n += f.recordCount();
      }
      if (chosen.size() < 2) {
        continue;
      }
      List<Record> all = new ArrayList<>((int) n);
      for (DataFile f : chosen) {
        try (CloseableIterable<Record> r = Parquet.read(table.io().newInputFile(f.location())).project(schema)
            .createReaderFunc(fs -> GenericParquetReaders.buildReader(schema, fs)).build()) {
          r.forEach(rec -> all.add(rec.copy()));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      List<DataFile> merged = SortedFileWriter.write(table, schema, all, "compact-" + UUID.randomUUID());
      RewriteFiles rewrite = table.newRewrite().validateFromSnapshot(base.snapshotId());
      chosen.forEach(rewrite::deleteFile);
      merged.forEach(rewrite::addFile);
      rewrite.commit();
      days++;
      before += chosen.size();
      after++;
      rows += all.size();
    }
    return new Compacted(days, before, after, rows);
  }

  /**
   * Expires snapshots older than {@code keep}, but never a source partition's newest commit or anything after it:
   * {@link LakeSink#open} reads a partition's committed ranges from that snapshot, and its fence looks for it in the
   * ancestry. A partition that stopped committing therefore holds history back; {@code partitionIdleLimit} bounds
   * that (a partition idle longer is treated as retired and no longer protects its snapshot).
   */
  public int expireSnapshots(Duration keep, Duration partitionIdleLimit, Instant now) {
    table.refresh();
    if (table.currentSnapshot() == null) {
      return 0;
    }
    long cutoff = now.minus(keep).toEpochMilli();
    long idle = now.minus(partitionIdleLimit).toEpochMilli();
    Set<String> seen = new HashSet<>();
    for (Snapshot s : SnapshotUtil.currentAncestors(table)) {
      for (String p : CommitLedger.partitionsOf(s)) {
        if (seen.add(p) && s.timestampMillis() >= idle) {
          cutoff = Math.min(cutoff, s.timestampMillis());
        }
      }
    }
    int before = size(table.snapshots());
    table.expireSnapshots().expireOlderThan(cutoff).retainLast(1).commit();
    table.refresh();
    return before - size(table.snapshots());
  }

  /**
   * Deletes objects under the table's location that no retained snapshot or metadata file references and that are
   * older than {@code olderThan} (a writer's upload in flight is not yet referenced: the age keeps it).
   */
  public int removeOrphans(Duration olderThan, Instant now) {
    if (!(table.io() instanceof SupportsPrefixOperations io)) {
      throw new UnsupportedOperationException("orphan removal needs a FileIO that lists (S3FileIO does)");
    }
    table.refresh();
    Set<String> live = new HashSet<>(ReachableFileUtil.metadataFileLocations(table, true));
    live.addAll(ReachableFileUtil.manifestListLocations(table));
    for (Snapshot s : table.snapshots()) {
      String state = s.summary().get(CommitLedger.STATE);
      if (state != null) {
        live.add(state);
      }
      for (ManifestFile m : s.allManifests(table.io())) {
        live.add(m.path());
        try (CloseableIterable<String> paths = ManifestFiles.readPaths(m, table.io(), table.specs())) {
          paths.forEach(live::add);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    live.addAll(stagedNotCommitted(io));
    long limit = now.minus(olderThan).toEpochMilli();
    List<String> orphans = new ArrayList<>();
    for (FileInfo f : io.listPrefix(table.location() + "/")) {
      if (!live.contains(f.location()) && f.createdAtMillis() < limit) {
        orphans.add(f.location());
      }
    }
    orphans.forEach(io::deleteFile);
    return orphans.size();
  }

  /**
   * The stage records on a partition's chain and their data files: readings acked at the hand-off whose commit is
   * still to come (a crashed owner's, until the next owner claims them) — never orphans, however old.
   */
  private Set<String> stagedNotCommitted(SupportsPrefixOperations io) {
    String root = table.location() + HandOff.DIR;
    Set<String> partitions = new HashSet<>();
    for (FileInfo f : io.listPrefix(root)) {
      String rest = f.location().substring(root.length());
      if (rest.indexOf('/') > 0) {
        partitions.add(java.net.URLDecoder.decode(rest.substring(0, rest.indexOf('/')), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    Set<String> out = new HashSet<>();
    if (partitions.isEmpty()) {
      return out;
    }
    CommitLedger.heads(table, partitions).forEach((partition, head) -> {
      for (HandOff.Stage st : HandOff.chain(table, partition, head.commitId(), head.committed()).stages()) {
        out.add(st.location());
        st.files().forEach(f -> out.add(f.location()));
      }
    });
    return out;
  }

  /**
   * Retention: deletes the event days before {@code now - retention} (whole days, so Iceberg drops whole files
   * without rewriting any). A reading of a dropped day redelivered later is still recognised as committed and not
   * written again.
   */
  public void dropDaysBefore(Duration retention, Instant now) {
    LocalDate firstKept = LocalDate.ofInstant(now.minus(retention), ZoneOffset.UTC);
    String bound = firstKept.atStartOfDay(ZoneOffset.UTC).toOffsetDateTime().toString();
    table.newDelete().deleteFromRowFilter(Expressions.lessThan("ts", bound)).commit();
  }

  private static int size(Iterable<?> it) {
    int n = 0;
    for (Object ignored : it) {
      n++;
    }
    return n;
  }
}
