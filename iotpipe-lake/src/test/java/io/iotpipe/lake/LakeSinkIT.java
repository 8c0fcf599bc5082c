package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Stream;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.util.SnapshotUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The lake sink against a real S3 API server (s3proxy) and a real JDBC catalog (SQLite, WAL). */
class LakeSinkIT {

  @TempDir
  static Path dir;
  static LakeFixture lake;

  @BeforeAll
  static void start() {
    lake = new LakeFixture(dir);
  }

  @AfterAll
  static void stop() {
    if (lake != null) {
      lake.close();
    }
  }

  @Test
  void everyReadingOnceReadByDuckDbAndANewMetricBecomesAColumn() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake.table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 100_000, 64L << 20);
    sink.open("storage.p0");
    List<SinkRecord> first = LakeFixture.readings("storage.p0", "evc-", 5, 40);
    CompletionStage<List<Outcome>> a = sink.write(first);
    assertThat(a.toCompletableFuture()).isNotDone(); // nothing is acked before its commit
    sink.flush();
    assertThat(a.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);

    // A second process configured with one more metric: the column appears, old files untouched.
    Table evolved = lake.table(id, null, List.of("powerKw", "energyKwh", "soc", "fanRpm"));
    assertThat(evolved.schema().findField("fanRpm")).isNotNull();
    LakeSink sink2 = new LakeSink("lake", evolved, 100_000, 64L << 20);
    sink2.open("storage.p1");
    List<SinkRecord> second = LakeFixture.readings("storage.p1", "evd-", 5, 40);
    CompletionStage<List<Outcome>> b = sink2.write(second);
    sink2.flush();
    assertThat(b.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);

    assertExactlyOnce(evolved, Stream.concat(first.stream(), second.stream()).toList());
    Map<String, Object> row = rowOf(evolved, "evd-1", 3);
    assertThat(row.get("fanRpm")).isEqualTo(1203.0);
    assertThat(rowOf(evolved, "evc-1", 3).get("fanRpm")).isNull(); // written before the column: in extra_metrics
    assertThat(rowOf(evolved, "evc-1", 3).get("extra_metrics")).isEqualTo(Map.of("fanRpm", 1203.0));
    assertThat(evolved.spec().fields()).singleElement().satisfies(f -> assertThat(f.name()).isEqualTo("event_day"));
  }

  @Test
  void aDifferentReadingUnderACommittedKeyIsRejectedAndTheFirstKept() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake.table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 100_000, 64L << 20);
    List<SinkRecord> batch = LakeFixture.readings("storage.p0", "evc-", 2, 5);
    CompletionStage<List<Outcome>> first = sink.write(batch);
    sink.flush();
    assertThat(first.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);

    Telemetry t = batch.get(3).telemetry();
    Telemetry forged = new Telemetry(t.deviceId(), t.seq(), t.ts(), t.site(), t.region(), "IDLE", null, t.metrics());
    // A fresh instance (after a restart) knows the key from the table alone.
    LakeSink restarted = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    restarted.open("storage.p0");
    List<Outcome> again = restarted.write(List.of(batch.get(3), new SinkRecord(forged, new byte[0], "storage.p0", 0)))
        .toCompletableFuture().join();
    assertThat(again.get(0)).isEqualTo(Outcome.DELIVERED);
    assertThat(again.get(1)).isInstanceOf(Outcome.Reject.class);
    assertThat(((Outcome.Reject) again.get(1)).reason()).contains("already stored with different content");
    restarted.flush();
    assertExactlyOnce(table, batch);
    assertThat(rowOf(table, t.deviceId(), t.seq()).get("status")).isEqualTo(t.status());
  }

  static Stream<Arguments> everyStep() {
    List<Arguments> args = new ArrayList<>();
    for (Faults.Step step : Faults.Step.values()) {
      for (Faults.Kind kind : Faults.Kind.values()) {
        args.add(Arguments.of(step, kind));
      }
    }
    return args.stream();
  }

  /**
   * A failure or a crash at each step of the hand-off and of the commit. The readings are acked at the hand-off (data
   * files and stage record written), before the commit: a batch whose outcomes are all {@code Delivered} is settled
   * with the broker, which never offers it again. Failure: what could not be staged is retried, a failed commit is
   * done again at the next tick (its readings stay staged). Crash: the process is gone without closing anything; a new
   * one opens the partitions — committing what was staged (its claim) — and the broker redelivers every batch that was
   * not settled. Either way every reading ends in the table exactly once, read back by DuckDB.
   */
  @ParameterizedTest(name = "{1} at {0}")
  @MethodSource("everyStep")
  void aFailureOrACrashAtEveryCommitStep(Faults.Step step, Faults.Kind kind) throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    List<String> partitions = List.of("storage.p0", "storage.p1");
    // Readings committed before the fault, so each partition has a head to build on.
    LakeSink warm = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    assertThat(warm.handsOff()).as("S3 lists: readings are acked at the hand-off").isTrue();
    partitions.forEach(warm::open);
    List<SinkRecord> before = Stream.concat(LakeFixture.readings(partitions.get(0), "pre0-", 3, 10).stream(),
        LakeFixture.readings(partitions.get(1), "pre1-", 3, 10).stream()).toList();
    warm.write(before);
    warm.flush();

    Faults faults = new Faults();
    Table faulty = lake.table(id, faults, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", faulty, 100_000, 64L << 20);
    partitions.forEach(sink::open);
    sink.flush(); // a tick: the new owner claims its partitions (a commit of its own) before the fault is armed
    List<SinkRecord> batch = Stream.concat(LakeFixture.readings(partitions.get(0), "evc-", 4, 25).stream(),
        LakeFixture.readings(partitions.get(1), "evd-", 4, 25).stream()).toList();
    faults.arm(step, kind);
    CompletableFuture<List<Outcome>> stage = sink.write(batch).toCompletableFuture();
    try {
      sink.flush();
    } catch (Faults.Crash expected) {
      // the process dies here
    }
    if (step != Faults.Step.ACK) {
      assertThat(faults.fired()).as("the fault at %s happened", step).isTrue();
    }
    boolean handOffStep = step == Faults.Step.DATA_FILE || step == Faults.Step.STAGE_RECORD
        || step == Faults.Step.STAGE_RECORD_ANSWER_LOST;
    if (kind == Faults.Kind.FAIL && step != Faults.Step.ACK) {
      List<Outcome> outcomes = stage.join();
      if (handOffStep) {
        assertThat(outcomes).as("what could not be staged is retried").anyMatch(o -> o instanceof Outcome.Retry);
      } else {
        assertThat(outcomes).as("acked at the hand-off, before the commit that failed").containsOnly(Outcome.DELIVERED);
      }
    }
    // What the broker still holds: the runtime settles a batch when its stage completes, all Delivered -> acked.
    boolean acked = step != Faults.Step.ACK && stage.isDone() && stage.join().stream().allMatch(o -> o instanceof Outcome.Delivered);

    if (kind == Faults.Kind.CRASH) {
      if (step == Faults.Step.ACK) {
        faults.crashNow(); // staged and committed, then died before the acks reached the broker
      }
      LakeSink next = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
      partitions.forEach(next::open);
      if (!acked) {
        CompletionStage<List<Outcome>> redelivered = next.write(batch);
        next.flush();
        assertThat(redelivered.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      }
      next.flush();
    } else {
      List<SinkRecord> toRetry = new ArrayList<>();
      if (step == Faults.Step.ACK) {
        toRetry.addAll(batch); // the acks were lost: all redelivered to the same instance
      } else if (!acked) {
        List<Outcome> outcomes = stage.join();
        for (int i = 0; i < batch.size(); i++) {
          if (!(outcomes.get(i) instanceof Outcome.Delivered)) {
            toRetry.add(batch.get(i));
          }
        }
      }
      CompletionStage<List<Outcome>> retried = toRetry.isEmpty() ? null : sink.write(toRetry);
      sink.flush(); // the next tick: the retried readings, and a commit that failed done again
      if (retried != null) {
        assertThat(retried.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      }
    }
    Table check = lake.table(id, null, LakeFixture.METRICS);
    assertExactlyOnce(check, Stream.concat(before.stream(), batch.stream()).toList());
    // the warm-up's commit: one snapshot of both partitions
    assertThat(SnapshotUtil.currentAncestors(check)).anySatisfy(s ->
        assertThat(CommitLedger.partitionsOf(s)).containsExactlyInAnyOrderElementsOf(partitions));
  }

  /**
   * Two instances, two partitions each, commit into one table at the same time: conflicts are retried, not surfaced,
   * and each commit is one snapshot of its writer's two partitions.
   */
  @Test
  void twoWritersCommitConcurrently() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    lake.table(id, null, LakeFixture.METRICS);
    List<SinkRecord> all = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<List<Outcome>>> writers = new ArrayList<>();
    // both flush at the same moment, so their commits race at the catalog (the loser is retried on the new metadata,
    // its fence run again there)
    java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
    for (int w = 0; w < 2; w++) {
      List<String> mine = List.of("storage.p" + (2 * w), "storage.p" + (2 * w + 1));
      String prefix = "w" + w + "-";
      Table t = lake.table(id, null, LakeFixture.METRICS);
      writers.add(CompletableFuture.supplyAsync(() -> {
        LakeSink sink = new LakeSink("lake", t, 100_000, 64L << 20);
        mine.forEach(sink::open);
        List<SinkRecord> first = LakeFixture.readings(mine.get(0), prefix + "a", 5, 30);
        List<SinkRecord> second = LakeFixture.readings(mine.get(1), prefix + "b", 5, 30);
        List<CompletionStage<List<Outcome>>> stages = new ArrayList<>();
        for (int from = 0; from < first.size(); from += 15) { // 10 commits per writer
          for (List<SinkRecord> readings : List.of(first, second)) {
            List<SinkRecord> batch = readings.subList(from, Math.min(readings.size(), from + 15));
            all.addAll(batch);
            stages.add(sink.write(batch));
          }
          try {
            together.await(60, java.util.concurrent.TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new IllegalStateException("the other writer did not reach its flush", e);
          }
          sink.flush();
        }
        List<Outcome> out = new ArrayList<>();
        stages.forEach(s -> out.addAll(s.toCompletableFuture().join()));
        return out;
      }, threads));
    }
    for (CompletableFuture<List<Outcome>> w : writers) {
      assertThat(w.get()).containsOnly(Outcome.DELIVERED);
    }
    threads.shutdown();
    Table check = lake.table(id, null, LakeFixture.METRICS);
    assertExactlyOnce(check, all);
    // 10 commits per writer, and each writer's claim of its two partitions (at its first write)
    assertThat(check.snapshots()).hasSize(22);
    for (Snapshot s : check.snapshots()) {
      assertThat(java.util.Set.copyOf(CommitLedger.partitionsOf(s)))
          .isIn(java.util.Set.of("storage.p0", "storage.p1"), java.util.Set.of("storage.p2", "storage.p3"));
    }
  }

  /**
   * A writer of two partitions misses the handover of one of them: the new owner commits that partition's readings,
   * then the old writer's snapshot of both is fenced on that partition alone. The old writer had staged them (acked
   * at the hand-off — acks the broker refuses once it handed the queue over): it drops them, as the new owner has
   * them; offered again they are recognised as committed. The other partition's readings are committed without it,
   * and the writer goes on committing that partition. Nothing doubles, nothing is lost.
   */
  @Test
  void aHandoverOfOnePartitionFencesOnlyThatPartitionOfASnapshotOfSeveral() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    String kept = "storage.p0";
    String handedOver = "storage.p1";
    LakeSink old = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    old.open(kept);
    old.open(handedOver);
    List<SinkRecord> earlier = Stream.concat(LakeFixture.readings(kept, "k0-", 2, 5).stream(),
        LakeFixture.readings(handedOver, "h0-", 2, 5).stream()).toList();
    assertThat(old.write(earlier).toCompletableFuture()).isNotDone();
    old.flush();

    List<SinkRecord> keptBatch = LakeFixture.readings(kept, "k1-", 3, 10);
    List<SinkRecord> handedBatch = LakeFixture.readings(handedOver, "h1-", 3, 10);
    CompletionStage<List<Outcome>> keptStage = old.write(keptBatch);
    CompletionStage<List<Outcome>> handedStage = old.write(handedBatch);

    // the broker hands the partition, with its unacked readings, to another instance, which commits them
    LakeSink owner = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    owner.open(handedOver);
    CompletionStage<List<Outcome>> ownerStage = owner.write(handedBatch);
    owner.flush();
    assertThat(ownerStage.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);

    old.flush();
    assertThat(keptStage.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    assertThat(handedStage.toCompletableFuture().join()).as("staged, its commit fenced").containsOnly(Outcome.DELIVERED);
    Table check = lake.table(id, null, LakeFixture.METRICS);
    assertThat(CommitLedger.partitionsOf(check.currentSnapshot())).containsExactly(kept);
    assertThat(old.health().reason()).contains(handedOver);

    // offered again (a late redelivery to the old instance): recognised as the new owner's commit, not written again
    assertThat(old.write(handedBatch).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    List<SinkRecord> later = LakeFixture.readings(kept, "k2-", 2, 5);
    CompletionStage<List<Outcome>> laterStage = old.write(later);
    old.flush();
    assertThat(laterStage.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    List<SinkRecord> all = new ArrayList<>(earlier);
    all.addAll(keptBatch);
    all.addAll(handedBatch);
    all.addAll(later);
    assertExactlyOnce(check, all);
    check.refresh();
    // with data: both, the new owner's, the kept partition alone (twice); the others are claims (no files)
    List<Snapshot> withData = new ArrayList<>();
    check.snapshots().forEach(sn -> {
      if (Long.parseLong(sn.summary().getOrDefault("added-data-files", "0")) > 0) {
        withData.add(sn);
      }
    });
    assertThat(withData).hasSize(4);
  }

  /**
   * A stale owner (it missed a handover) commits readings the new owner already committed: the fence refuses it and
   * it drops what it had staged (its acks of them are refused by the broker, which handed the queue over); offered
   * again they are recognised as committed. Nothing doubles, and the stale owner's stages are never adopted (they are
   * off the new owner's chain).
   */
  @Test
  void aStaleOwnerOfAPartitionIsFencedOff() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    String partition = "storage.p3";
    LakeSink stale = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    stale.open(partition);
    List<SinkRecord> batch = LakeFixture.readings(partition, "evc-", 3, 10);
    CompletionStage<List<Outcome>> staleStage = stale.write(batch);

    LakeSink owner = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    owner.open(partition);
    CompletionStage<List<Outcome>> ownerStage = owner.write(batch);
    owner.flush();
    assertThat(ownerStage.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);

    stale.flush();
    assertThat(staleStage.toCompletableFuture().join()).as("staged, its commit fenced").containsOnly(Outcome.DELIVERED);
    assertThat(stale.health().reason()).contains(partition);
    CompletionStage<List<Outcome>> again = stale.write(batch);
    stale.flush();
    assertThat(again.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    assertExactlyOnce(lake.table(id, null, LakeFixture.METRICS), batch);
    // a new owner after both: the stale owner's stage record is not on its chain, nothing is committed twice
    LakeSink third = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    third.open(partition);
    third.flush();
    assertExactlyOnce(lake.table(id, null, LakeFixture.METRICS), batch);
  }

  static void assertExactlyOnce(Table table, List<SinkRecord> expected) throws Exception {
    lake.assertExactlyOnce(table, expected);
  }

  private static Map<String, Object> rowOf(Table table, String device, long seq) throws Exception {
    table.refresh();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table)
        .where(org.apache.iceberg.expressions.Expressions.and(
            org.apache.iceberg.expressions.Expressions.equal("device_id", device),
            org.apache.iceberg.expressions.Expressions.equal("seq", seq))).build()) {
      for (Record r : rows) {
        Map<String, Object> m = new HashMap<>();
        r.struct().fields().forEach(f -> m.put(f.name(), r.getField(f.name())));
        return m;
      }
    }
    throw new AssertionError("no row " + device + ":" + seq);
  }
}
