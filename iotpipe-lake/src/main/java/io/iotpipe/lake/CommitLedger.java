package io.iotpipe.lake;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotAncestryValidator;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.util.SnapshotUtil;

/**
 * What the table itself records about the sink's commits, and how it is read back. One flush of the sink is one
 * snapshot holding the readings of every source partition that had some buffered; its summary holds
 * <ul>
 *   <li>{@value #COMMIT_ID}: a fresh id, looked up after {@code CommitStateUnknownException} (did it land?);</li>
 *   <li>{@value #PARTITIONS}: the source partitions (queues) whose readings it holds, a JSON array of names;</li>
 *   <li>{@value #STATE}: the location of one side file for the whole commit: per partition in it, the commit of that
 *       partition it was built on and every committed {@code seq} range per device after this commit (kept out of
 *       the summary, which every {@code metadata.json} repeats).</li>
 * </ul>
 * The snapshot and its state file become visible in the same catalog swap, so "acked" can never run ahead of
 * "committed", and a redelivery after a crash is recognised from the table alone (no local state, no second store).
 *
 * <p>Snapshots written before (one per partition and commit) name their partition in {@value #LEGACY_PARTITION},
 * the commit it was built on in {@value #LEGACY_PREVIOUS}, and their state file holds that partition's ranges at
 * its top level. Tables written that way exist: both forms are read, only the new one is written.
 *
 * <p>Fence: a commit validates, against the metadata it finally lands on (after any retry on conflict), that for each
 * of its partitions the newest snapshot holding that partition is still the one it was built on. A stale owner of a
 * partition (one that missed a handover, or whose earlier commit landed after it gave up on it) fails instead of
 * committing readings the new owner has committed too: the Kafka Connect sink's ancestry validation against zombie
 * coordinators (apache/iceberg#17551). The fence names every partition that failed it ({@link Fence#fenced}), so the
 * sink can commit the other partitions' readings again at once.
 */
final class CommitLedger {

  static final String COMMIT_ID = "iotpipe.commit-id";
  static final String PARTITIONS = "iotpipe.partitions";
  static final String STATE = "iotpipe.state";
  /** Read, never written: the single partition of a snapshot written one per partition. */
  static final String LEGACY_PARTITION = "iotpipe.partition";
  /** Read, never written: that partition's commit the snapshot was built on (now in the state file). */
  static final String LEGACY_PREVIOUS = "iotpipe.previous-commit-id";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<String>> NAMES = new TypeReference<>() {};
  private static final TypeReference<Map<String, List<long[]>>> RANGES = new TypeReference<>() {};

  /** The newest commit of a partition visible in the table and its state; no commit id and empty state if none. */
  record PartitionHead(String commitId, CommittedSeqs committed) {}

  /** One partition's part of a commit: the partition's commit it was built on (null: its first) and its ranges after. */
  record PartitionState(String previousCommitId, CommittedSeqs committed) {}

  private CommitLedger() {}

  /** Where the state file of a commit goes: one per commit, named by the commit id. */
  static String stateLocation(Table table, String commitId) {
    return table.location() + "/metadata/iotpipe-state/" + commitId + ".json";
  }

  /** The summary value of {@value #PARTITIONS}. */
  static String partitionsValue(Collection<String> partitions) {
    try {
      return JSON.writeValueAsString(List.copyOf(partitions));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The source partitions whose readings a snapshot holds (either form); empty for snapshots not of the sink. */
  static List<String> partitionsOf(Snapshot s) {
    Map<String, String> summary = s.summary();
    String names = summary.get(PARTITIONS);
    if (names != null) {
      try {
        return JSON.readValue(names, NAMES);
      } catch (IOException e) {
        throw new IllegalStateException("snapshot " + s.snapshotId() + " has an unreadable " + PARTITIONS + ": " + names, e);
      }
    }
    String legacy = summary.get(LEGACY_PARTITION);
    return legacy == null ? List.of() : List.of(legacy);
  }

  /**
   * The newest commit of each of {@code partitions} in the current snapshot's ancestry: one walk of the history
   * (it stops once every partition is found), and each state file read once however many of them it serves.
   */
  static Map<String, PartitionHead> heads(Table table, Collection<String> partitions) {
    Map<Snapshot, Set<String>> bySnapshot = new LinkedHashMap<>();
    Set<String> missing = new HashSet<>(partitions);
    for (Snapshot s : SnapshotUtil.currentAncestors(table)) {
      if (missing.isEmpty()) {
        break;
      }
      for (String p : partitionsOf(s)) {
        if (missing.remove(p)) {
          bySnapshot.computeIfAbsent(s, x -> new HashSet<>()).add(p);
        }
      }
    }
    Map<String, PartitionHead> out = new HashMap<>();
    bySnapshot.forEach((s, wanted) -> readState(table.io(), s, wanted)
        .forEach((p, st) -> out.put(p, new PartitionHead(s.summary().get(COMMIT_ID), st.committed()))));
    for (String p : partitions) {
      out.putIfAbsent(p, new PartitionHead(null, new CommittedSeqs()));
    }
    return out;
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

  /** The fence for a commit built on {@code expected}: per partition, its newest commit id (null: never committed). */
  static Fence fence(Map<String, String> expected) {
    return new Fence(expected);
  }

  /**
   * The fence: for every partition of the commit, its newest commit in the ancestry the new snapshot lands on must be
   * the one the commit was built on. Iceberg calls it on each attempt (after a conflict, on the new metadata);
   * {@link #fenced} says which partitions failed it on the last one.
   */
  static final class Fence implements SnapshotAncestryValidator {
    private final Map<String, String> expected;
    private final Map<String, String> found = new LinkedHashMap<>();

    private Fence(Map<String, String> expected) {
      this.expected = new HashMap<>(expected); // null values: partitions never committed before
      expected.keySet().forEach(p -> found.put(p, null));
    }

    @Override
    public boolean validate(Iterable<Snapshot> ancestors) {
      Set<String> missing = new HashSet<>(found.keySet());
      found.replaceAll((p, v) -> null);
      for (Snapshot s : ancestors) {
        if (missing.isEmpty()) {
          break;
        }
        for (String p : partitionsOf(s)) {
          if (missing.remove(p)) {
            found.put(p, s.summary().get(COMMIT_ID));
          }
        }
      }
      return fenced().isEmpty();
    }

    /** The partitions whose newest commit is not the one this commit was built on (another writer committed them). */
    Set<String> fenced() {
      Set<String> out = new TreeSet<>();
      found.forEach((p, id) -> {
        if (!Objects.equals(id, expected.get(p))) {
          out.add(p);
        }
      });
      return out;
    }

    @Override
    public String errorMessage() {
      List<String> parts = new ArrayList<>();
      for (String p : fenced()) {
        parts.add(p + " (newest commit " + found.get(p) + ", expected " + expected.get(p) + ")");
      }
      return "partitions committed by another writer: " + String.join(", ", parts) + "; this instance no longer owns them";
    }
  }

  /** Writes a commit's state file: per partition, the commit it was built on and its committed ranges after. */
  static void writeState(FileIO io, String location, String commitId, Map<String, PartitionState> partitions) {
    OutputFile out = io.newOutputFile(location);
    // create(), not createOrOverwrite(): the name is unique per commit, so an existing object is a bug to surface.
    // Streamed: the file holds every device of every partition in the commit, no second copy of that on the heap.
    try (OutputStream os = out.create(); JsonGenerator g = JSON.getFactory().createGenerator(os)) {
      g.writeStartObject();
      g.writeStringField("commitId", commitId);
      g.writeObjectFieldStart("partitions");
      for (Map.Entry<String, PartitionState> e : partitions.entrySet()) {
        g.writeObjectFieldStart(e.getKey());
        g.writeStringField("previousCommitId", e.getValue().previousCommitId());
        writeDevices(g, e.getValue().committed());
        g.writeEndObject();
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write commit state " + location + ": " + e.getMessage(), e);
    }
  }

  /** Writes {@code "devices": {device: [[from, to], ...]}}, ranges inclusive: the form state files and stage records share. */
  static void writeDevices(JsonGenerator g, CommittedSeqs seqs) throws IOException {
    g.writeObjectFieldStart("devices");
    seqs.forEachDevice((device, ranges) -> {
      try {
        g.writeArrayFieldStart(device);
        for (long[] r : ranges) {
          g.writeArray(r, 0, 2);
        }
        g.writeEndArray();
      } catch (IOException x) {
        throw new UncheckedIOException(x);
      }
    });
    g.writeEndObject();
  }

  /**
   * The states of {@code wanted} partitions recorded by snapshot {@code s} (either form). Streamed: a commit's state
   * file holds every partition of that commit, and only the wanted ones are kept.
   */
  static Map<String, PartitionState> readState(FileIO io, Snapshot s, Set<String> wanted) {
    String location = s.summary().get(STATE);
    String legacy = s.summary().get(PARTITIONS) == null ? s.summary().get(LEGACY_PARTITION) : null;
    Map<String, PartitionState> out = new LinkedHashMap<>();
    try (InputStream in = io.newInputFile(location).newStream(); JsonParser p = JSON.getFactory().createParser(in)) {
      expect(p.nextToken(), JsonToken.START_OBJECT, location);
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("devices") && legacy != null && wanted.contains(legacy)) {
          // a snapshot of one partition: its ranges at the top level, what it was built on in the summary
          out.put(legacy, new PartitionState(s.summary().get(LEGACY_PREVIOUS), CommittedSeqs.fromRanges(JSON.readValue(p, RANGES))));
        } else if (field.equals("partitions") && legacy == null) {
          expect(p.currentToken(), JsonToken.START_OBJECT, location);
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String partition = p.currentName();
            p.nextToken();
            if (wanted.contains(partition)) {
              out.put(partition, readPartition(p, location));
            } else {
              p.skipChildren();
            }
          }
        } else {
          p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read commit state " + location + ": " + e.getMessage(), e);
    }
    Set<String> absent = new LinkedHashSet<>(wanted);
    absent.removeAll(out.keySet());
    if (!absent.isEmpty()) {
      // the summary names them, so the file must hold them: reading on without would forget committed readings
      throw new IllegalStateException("commit state " + location + " holds no state of " + absent + " although snapshot "
          + s.snapshotId() + " names them");
    }
    return out;
  }

  private static PartitionState readPartition(JsonParser p, String location) throws IOException {
    expect(p.currentToken(), JsonToken.START_OBJECT, location);
    String previous = null;
    CommittedSeqs committed = new CommittedSeqs();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      switch (field) {
        case "previousCommitId" -> previous = p.currentToken() == JsonToken.VALUE_NULL ? null : p.getText();
        case "devices" -> committed = CommittedSeqs.fromRanges(JSON.readValue(p, RANGES));
        default -> p.skipChildren();
      }
    }
    return new PartitionState(previous, committed);
  }

  private static void expect(JsonToken got, JsonToken want, String location) {
    if (got != want) {
      throw new IllegalStateException("commit state " + location + " is not a commit state file (" + got + " where " + want + ")");
    }
  }
}
