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
   * A failure or a crash at each commit step. Failure: the sink reports what it could not commit as Retry, the
   * runtime offers those again (an ack that failed: the broker redelivers everything). Crash: the process is gone
   * without closing anything; a new one opens the partition and the broker redelivers the whole unacked batch.
   * Either way every reading ends in the table exactly once, read back by DuckDB.
   */
  @ParameterizedTest(name = "{1} at {0}")
  @MethodSource("everyStep")
  void aFailureOrACrashAtEveryCommitStep(Faults.Step step, Faults.Kind kind) throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    // Two partitions: every commit below is one snapshot holding both (asserted at the end).
    List<String> partitions = List.of("storage.p0", "storage.p1");
    // Readings committed before the fault, so each partition has a head to build on.
    LakeSink warm = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
    List<SinkRecord> before = Stream.concat(LakeFixture.readings(partitions.get(0), "pre0-", 3, 10).stream(),
        LakeFixture.readings(partitions.get(1), "pre1-", 3, 10).stream()).toList();
    warm.write(before);
    warm.flush();

    Faults faults = new Faults();
    Table faulty = lake.table(id, faults, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", faulty, 100_000, 64L << 20);
    partitions.forEach(sink::open);
    List<SinkRecord> batch = Stream.concat(LakeFixture.readings(partitions.get(0), "evc-", 4, 25).stream(),
        LakeFixture.readings(partitions.get(1), "evd-", 4, 25).stream()).toList();
    faults.arm(step, kind);
    CompletionStage<List<Outcome>> stage = sink.write(batch);
    try {
      sink.flush();
    } catch (Faults.Crash expected) {
      // the process dies here
    }
    if (step == Faults.Step.ACK) {
      assertThat(stage.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      if (kind == Faults.Kind.CRASH) {
        faults.crashNow(); // committed, then died before the acks reached the broker
      }
    } else {
      assertThat(faults.fired()).as("the fault at %s happened", step).isTrue();
    }

    if (kind == Faults.Kind.CRASH) {
      // A new process: the broker redelivers every unacked reading.
      LakeSink next = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 64L << 20);
      partitions.forEach(next::open);
      CompletionStage<List<Outcome>> redelivered = next.write(batch);
      next.flush();
      assertThat(redelivered.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    } else {
      List<SinkRecord> toRetry;
      if (step == Faults.Step.ACK) {
        toRetry = batch; // the acks were lost: all redelivered to the same instance
      } else {
        List<Outcome> outcomes = stage.toCompletableFuture().join();
        if (step == Faults.Step.SWAP_ANSWER_LOST) {
          // resolved from the table's history, not guessed
          assertThat(outcomes).containsOnly(Outcome.DELIVERED);
        } else {
          assertThat(outcomes).allMatch(o -> o instanceof Outcome.Retry);
        }
        toRetry = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
          if (!(outcomes.get(i) instanceof Outcome.Delivered)) {
            toRetry.add(batch.get(i));
          }
        }
      }
      if (!toRetry.isEmpty()) {
        CompletionStage<List<Outcome>> retried = sink.write(toRetry);
        sink.flush();
        assertThat(retried.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      }
    }
    Table check = lake.table(id, null, LakeFixture.METRICS);
    assertExactlyOnce(check, Stream.concat(before.stream(), batch.stream()).toList());
    // the warm-up's, the faulted and any retried commit: each one snapshot of both partitions
    for (Snapshot s : SnapshotUtil.currentAncestors(check)) {
      assertThat(CommitLedger.partitionsOf(s)).containsExactlyInAnyOrderElementsOf(partitions);
    }
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
    assertThat(check.snapshots()).hasSize(20);
    for (Snapshot s : check.snapshots()) {
      assertThat(java.util.Set.copyOf(CommitLedger.partitionsOf(s)))
          .isIn(java.util.Set.of("storage.p0", "storage.p1"), java.util.Set.of("storage.p2", "storage.p3"));
    }
  }

  /**
   * A writer of two partitions misses the handover of one of them: the new owner commits that partition's readings,
   * then the old writer's snapshot of both is fenced on that partition alone. Its readings come back as Retry (and,
   * offered again, are recognised as committed); the other partition's readings are committed without it, and the
   * writer goes on committing that partition. Nothing doubles, nothing is lost.
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
    assertThat(handedStage.toCompletableFuture().join()).allMatch(o -> o instanceof Outcome.Retry);
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
    assertThat(check.snapshots()).hasSize(4); // both, the new owner's, the kept partition alone (twice)
  }

  /**
   * A stale owner (it missed a handover) commits readings the new owner already committed: the fence refuses it, its
   * readings come back as Retry and, offered again, are recognised as committed. Nothing doubles.
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
    assertThat(staleStage.toCompletableFuture().join()).allMatch(o -> o instanceof Outcome.Retry);
    CompletionStage<List<Outcome>> again = stale.write(batch);
    stale.flush();
    assertThat(again.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
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
