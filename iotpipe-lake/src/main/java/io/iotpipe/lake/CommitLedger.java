package io.iotpipe.lake;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotAncestryValidator;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.util.SnapshotUtil;

/**
 * What the table itself records about the sink's commits, and how it is read back. Every commit of a source partition
 * is one snapshot whose summary holds
 * <ul>
 *   <li>{@value #COMMIT_ID}: a fresh id, looked up after {@code CommitStateUnknownException} (did it land?);</li>
 *   <li>{@value #PARTITION}: the source partition (queue) whose readings it holds;</li>
 *   <li>{@value #PREVIOUS}: the commit id of that partition this commit was built on (the fence, see below);</li>
 *   <li>{@value #STATE}: the location of a side file with every committed {@code seq} range per device of that
 *       partition after this commit (kept out of the summary, which every {@code metadata.json} repeats).</li>
 * </ul>
 * The snapshot and its state file become visible in the same catalog swap, so "acked" can never run ahead of
 * "committed", and a redelivery after a crash is recognised from the table alone (no local state, no second store).
 *
 * <p>Fence: a commit validates, against the metadata it finally lands on (after any retry on conflict), that the
 * newest snapshot of its partition is still the one it was built on. A stale owner of a partition (one that missed a
 * handover, or whose earlier commit landed after it gave up on it) fails instead of committing readings the new owner
 * has committed too: the Kafka Connect sink's ancestry validation against zombie coordinators (apache/iceberg#17551).
 */
final class CommitLedger {

  static final String COMMIT_ID = "iotpipe.commit-id";
  static final String PARTITION = "iotpipe.partition";
  static final String PREVIOUS = "iotpipe.previous-commit-id";
  static final String STATE = "iotpipe.state";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The newest commit of {@code partition} visible in {@code table} and its state; empty state if none. */
  record PartitionHead(String commitId, CommittedSeqs committed) {}

  private CommitLedger() {}

  static PartitionHead head(Table table, String partition) {
    Snapshot s = newestOf(SnapshotUtil.currentAncestors(table), partition);
    if (s == null) {
      return new PartitionHead(null, new CommittedSeqs());
    }
    return new PartitionHead(s.summary().get(COMMIT_ID), readState(table.io(), s.summary().get(STATE)));
  }

  private static Snapshot newestOf(Iterable<Snapshot> ancestors, String partition) {
    for (Snapshot s : ancestors) {
      if (partition.equals(s.summary().get(PARTITION))) {
        return s;
      }
    }
    return null;
  }

  /** Whether a commit with this id is in the current table's history (resolves an unknown commit state). */
  static boolean committed(Table table, String commitId) {
    table.refresh();
    for (Snapshot s : SnapshotUtil.currentAncestors(table)) {
      if (commitId.equals(s.summary().get(COMMIT_ID))) {
        return true;
      }
    }
    return false;
  }

  /** The fence: the partition's newest commit in the ancestry the new snapshot lands on must be {@code expected}. */
  static SnapshotAncestryValidator fence(String partition, String expected) {
    return new SnapshotAncestryValidator() {
      private String found;

      @Override
      public boolean validate(Iterable<Snapshot> ancestors) {
        Snapshot s = newestOf(ancestors, partition);
        found = s == null ? null : s.summary().get(COMMIT_ID);
        return java.util.Objects.equals(found, expected);
      }

      @Override
      public String errorMessage() {
        return "partition " + partition + " was committed by another writer (newest commit " + found + ", expected "
            + expected + "): this instance no longer owns it";
      }
    };
  }

  static void writeState(FileIO io, String location, String partition, String commitId, CommittedSeqs committed) {
    OutputFile out = io.newOutputFile(location);
    // create(), not createOrOverwrite(): the name is unique per commit, so an existing object is a bug to surface.
    try (OutputStream os = out.create()) {
      JSON.writeValue(os, Map.of("partition", partition, "commitId", commitId, "devices", committed.toRanges()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write commit state " + location + ": " + e.getMessage(), e);
    }
  }

  static CommittedSeqs readState(FileIO io, String location) {
    try (InputStream in = io.newInputFile(location).newStream()) {
      Map<String, Object> doc = JSON.readValue(in, new TypeReference<>() {});
      Map<String, List<long[]>> ranges = JSON.convertValue(doc.get("devices"), new TypeReference<>() {});
      return CommittedSeqs.fromRanges(ranges);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read commit state " + location + ": " + e.getMessage(), e);
    }
  }
}
