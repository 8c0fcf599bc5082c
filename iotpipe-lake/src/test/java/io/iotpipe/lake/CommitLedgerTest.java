package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.util.SnapshotUtil;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Tables written before one snapshot held several partitions: one snapshot per partition and commit, its partition in
 * {@code iotpipe.partition}, the commit it was built on in {@code iotpipe.previous-commit-id}, and a state file with
 * that partition's ranges at its top level. Such snapshots are written here byte for byte as that code wrote them
 * (literal keys, not this code's constants), on Iceberg's in-memory catalog.
 */
class CommitLedgerTest {

  private Table table;

  @BeforeEach
  void table() {
    table = LakeFixture.inMemoryTable();
  }

  /** A commit as the one-snapshot-per-partition sink made it; returns its commit id. */
  private String legacyCommit(String partition, String previous, List<SinkRecord> readings, CommittedSeqs before) throws Exception {
    String commitId = UUID.randomUUID().toString();
    List<Record> rows = new ArrayList<>();
    CommittedSeqs after = before.copy();
    for (SinkRecord r : readings) {
      rows.add(TelemetryTable.toRecord(table.schema(), r.telemetry(), Instant.now()));
      after.add(r.telemetry().deviceId(), r.telemetry().seq());
    }
    String state = table.location() + "/metadata/iotpipe-state/" + partition + "/" + commitId + ".json";
    try (OutputStream os = table.io().newOutputFile(state).create()) {
      new ObjectMapper().writeValue(os, Map.of("partition", partition, "commitId", commitId, "devices", after.toRanges()));
    }
    AppendFiles append = table.newAppend();
    SortedFileWriter.write(table, table.schema(), rows, commitId).forEach(append::appendFile);
    append.set("iotpipe.commit-id", commitId).set("iotpipe.partition", partition).set("iotpipe.state", state);
    if (previous != null) {
      append.set("iotpipe.previous-commit-id", previous);
    }
    append.commit();
    return commitId;
  }

  private static CommittedSeqs seqsOf(List<SinkRecord> readings) {
    CommittedSeqs c = new CommittedSeqs();
    readings.forEach(r -> c.add(r.telemetry().deviceId(), r.telemetry().seq()));
    return c;
  }

  @Test
  void oldSinglePartitionSnapshotsAreReadAndANewCommitOfSeveralPartitionsBuildsOnThem() throws Exception {
    List<SinkRecord> a = LakeFixture.readings("q0", "a-", 2, 3);
    List<SinkRecord> b = LakeFixture.readings("q1", "b-", 2, 3);
    List<SinkRecord> c = LakeFixture.readings("q0", "c-", 2, 3);
    String c1 = legacyCommit("q0", null, a, new CommittedSeqs());
    String c2 = legacyCommit("q1", null, b, new CommittedSeqs());
    String c3 = legacyCommit("q0", c1, c, seqsOf(a));

    table.refresh();
    Map<String, CommitLedger.PartitionHead> heads = CommitLedger.heads(table, List.of("q0", "q1", "q2"));
    assertThat(heads.get("q0").commitId()).isEqualTo(c3);
    assertThat(heads.get("q0").committed().contains("a-1", 3)).isTrue(); // the newest state holds the older ranges
    assertThat(heads.get("q0").committed().contains("c-0", 1)).isTrue();
    assertThat(heads.get("q0").committed().contains("b-0", 1)).isFalse();
    assertThat(heads.get("q1").commitId()).isEqualTo(c2);
    assertThat(heads.get("q1").committed().contains("b-1", 2)).isTrue();
    assertThat(heads.get("q2").commitId()).isNull();
    Snapshot old = table.currentSnapshot();
    assertThat(CommitLedger.partitionsOf(old)).containsExactly("q0");
    assertThat(CommitLedger.readState(table.io(), old, Set.of("q0")).get("q0").previousCommitId()).isEqualTo(c1);

    // A new instance on that table: redeliveries of both partitions recognised, new readings in one snapshot of both.
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    sink.open("q0");
    sink.open("q1");
    List<SinkRecord> d = LakeFixture.readings("q0", "d-", 2, 3);
    List<SinkRecord> e = LakeFixture.readings("q1", "e-", 2, 3);
    var redelivered = sink.write(Stream.concat(c.stream(), b.stream()).toList()).toCompletableFuture();
    assertThat(redelivered).isCompleted(); // known from the old state files alone, nothing waits for a commit
    assertThat(redelivered.join()).containsOnly(Outcome.DELIVERED);
    var fresh = sink.write(Stream.concat(d.stream(), e.stream()).toList()).toCompletableFuture();
    sink.flush();
    assertThat(fresh.join()).containsOnly(Outcome.DELIVERED);

    table.refresh();
    Snapshot now = table.currentSnapshot();
    assertThat(CommitLedger.partitionsOf(now)).containsExactlyInAnyOrder("q0", "q1");
    assertThat(now.summary()).doesNotContainKey("iotpipe.partition");
    Map<String, CommitLedger.PartitionState> states = CommitLedger.readState(table.io(), now, Set.of("q0", "q1"));
    assertThat(states.get("q0").previousCommitId()).isEqualTo(c3); // the fence's chain runs through the old snapshots
    assertThat(states.get("q1").previousCommitId()).isEqualTo(c2);
    assertThat(states.get("q0").committed().contains("a-0", 1)).isTrue();
    assertThat(states.get("q0").committed().contains("d-1", 3)).isTrue();
    Map<String, Integer> rows = new HashMap<>();
    try (CloseableIterable<Record> all = IcebergGenerics.read(table).build()) {
      all.forEach(r -> rows.merge(r.getField("device_id") + ":" + r.getField("seq"), 1, Integer::sum));
    }
    assertThat(rows).hasSize(a.size() + b.size() + c.size() + d.size() + e.size()).allSatisfy((k, n) -> assertThat(n).isOne());
  }

  @Test
  void theFenceNamesExactlyThePartitionsWhoseNewestCommitIsNotTheExpectedOneInEitherForm() throws Exception {
    String old = legacyCommit("q0", null, LakeFixture.readings("q0", "a-", 1, 2), new CommittedSeqs());
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    sink.write(LakeFixture.readings("q1", "b-", 1, 2));
    sink.write(LakeFixture.readings("q2", "c-", 1, 2));
    sink.flush();
    table.refresh();
    String shared = table.currentSnapshot().summary().get(CommitLedger.COMMIT_ID);
    Iterable<Snapshot> history = SnapshotUtil.currentAncestors(table);

    Map<String, String> right = new HashMap<>(Map.of("q0", old, "q1", shared, "q2", shared));
    right.put("q3", null); // never committed
    CommitLedger.Fence ok = CommitLedger.fence(right);
    assertThat(ok.validate(history)).isTrue();
    assertThat(ok.fenced()).isEmpty();

    Map<String, String> stale = new HashMap<>(Map.of("q0", "an-older-commit", "q1", shared));
    stale.put("q2", null); // this writer thinks q2 was never committed: another writer did
    CommitLedger.Fence refused = CommitLedger.fence(stale);
    assertThat(refused.validate(history)).isFalse();
    assertThat(refused.fenced()).containsExactly("q0", "q2");
    assertThat(refused.errorMessage()).contains("q0 (newest commit " + old + ", expected an-older-commit)").doesNotContain("q1");
  }
}
