package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sink's bookkeeping on Iceberg's in-memory catalog (a fake store: fast, no server). Durability, crashes and
 * several writers are proven against the real S3 server and catalog in {@code LakeSinkIT}.
 */
class LakeSinkTest {

  private Table table;

  @BeforeEach
  void table() {
    table = LakeFixture.inMemoryTable();
  }

  @Test
  void nothingIsDeliveredBeforeFlushAndTheBudgetAsksForOne() {
    LakeSink sink = new LakeSink("lake", table, 50, 1L << 30);
    List<SinkRecord> batch = LakeFixture.readings("q0", "d-", 5, 10);
    CompletableFuture<List<Outcome>> stage = sink.write(batch).toCompletableFuture();
    assertThat(stage).isNotDone();
    assertThat(sink.flushDue()).isTrue();
    assertThat(table.currentSnapshot()).isNull();
    sink.flush();
    assertThat(stage.join()).hasSize(50).containsOnly(Outcome.DELIVERED);
    assertThat(sink.flushDue()).isFalse();
    table.refresh();
    assertThat(CommitLedger.partitionsOf(table.currentSnapshot())).containsExactly("q0");
    assertThat(table.currentSnapshot().summary()).containsKey(CommitLedger.COMMIT_ID);
  }

  @Test
  void onePartitionReachingItsBudgetAsksForOneCommitOfAllPartitions() {
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30).partitionBudget(20).whenFlushDue(asked::incrementAndGet);
    CompletableFuture<List<Outcome>> other = sink.write(LakeFixture.readings("q1", "b-", 2, 3)).toCompletableFuture();
    sink.write(LakeFixture.readings("q0", "a-", 3, 6));
    assertThat(sink.flushDue()).as("18 of 20 in q0").isFalse();
    assertThat(asked).hasValue(0);
    CompletableFuture<List<Outcome>> full = sink.write(LakeFixture.readings("q0", "c-", 1, 2)).toCompletableFuture();
    sink.write(LakeFixture.readings("q0", "d-", 1, 2));
    assertThat(asked).as("told once, not on every later batch").hasValue(1);
    sink.flush();
    assertThat(full.join()).containsOnly(Outcome.DELIVERED);
    assertThat(other.join()).as("the other partition rides along in the same snapshot").containsOnly(Outcome.DELIVERED);
    table.refresh();
    assertThat(CommitLedger.partitionsOf(table.currentSnapshot())).containsExactlyInAnyOrder("q0", "q1");
    sink.write(LakeFixture.readings("q0", "e-", 4, 5));
    assertThat(asked).as("a new commit cycle tells again").hasValue(2);
  }

  /**
   * A commit's I/O runs without the sink's monitor: readings keep arriving meanwhile and go to the next commit; a
   * redelivery of a reading being committed completes with that commit, a different reading under its key is rejected.
   */
  @Test
  void readingsArrivingDuringACommitWaitForTheNextOneAndRedeliveriesJoinTheRunningOne() throws Exception {
    java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    Table blocking = BlockingTable.wrap(table, entered, release);
    LakeSink sink = new LakeSink("lake", blocking, 1_000_000, 1L << 30);
    List<SinkRecord> first = LakeFixture.readings("q0", "a-", 2, 3);
    CompletableFuture<List<Outcome>> a = sink.write(first).toCompletableFuture();
    // threads of their own: the common pool may have a single thread on a small machine
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool();
    CompletableFuture<Void> committing = CompletableFuture.runAsync(sink::flush, threads);
    assertThat(entered.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("the commit is writing its data file").isTrue();

    // while the commit's data file is being written: none of these calls waits for it
    List<CompletableFuture<List<Outcome>>> during = CompletableFuture.supplyAsync(() -> List.of(
            sink.write(LakeFixture.readings("q0", "b-", 2, 2)).toCompletableFuture(),
            sink.write(List.of(first.get(0))).toCompletableFuture(),
            sink.write(List.of(changed(first.get(1)))).toCompletableFuture()), threads)
        .get(30, java.util.concurrent.TimeUnit.SECONDS);
    CompletableFuture<List<Outcome>> b = during.get(0);
    assertThat(b).as("arrived during the commit: waits for the next").isNotDone();
    assertThat(during.get(2).join()).as("another reading under a key being committed")
        .singleElement().isInstanceOf(Outcome.Reject.class);

    release.countDown();
    committing.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(a.join()).hasSize(6).containsOnly(Outcome.DELIVERED);
    assertThat(during.get(1).join()).as("the redelivery completes with the commit it joined").containsOnly(Outcome.DELIVERED);
    assertThat(b).isNotDone();
    sink.flush();
    assertThat(b.get(30, java.util.concurrent.TimeUnit.SECONDS)).hasSize(4).containsOnly(Outcome.DELIVERED);
    table.refresh();
    assertThat(table.snapshots()).hasSize(2);
    assertThat(table.currentSnapshot().summary().get("total-records")).as("6 + 4, the redelivery not again").isEqualTo("10");
    threads.shutdown();
  }

  private static SinkRecord changed(SinkRecord r) {
    Telemetry t = r.telemetry();
    Map<String, Double> m = new java.util.HashMap<>(t.metrics());
    m.put("powerKw", -1.0);
    Telemetry c = new Telemetry(t.deviceId(), t.seq(), t.ts(), t.site(), t.region(), t.status(), t.errorCode(), m);
    return new SinkRecord(c, r.body(), r.source(), r.publishedAt());
  }

  @Test
  void aTickCommitsOnlyWhatIsDueAndNeverTwiceWithinTheSpacing() {
    LakeSink young = new LakeSink("lake", table, 1_000_000, 1L << 30).partitionBudget(20)
        .cadence(java.time.Duration.ofHours(1), java.time.Duration.ZERO);
    CompletableFuture<List<Outcome>> few = young.write(LakeFixture.readings("q0", "a-", 2, 3)).toCompletableFuture();
    young.commit();
    assertThat(few).as("6 readings, younger than the interval, no budget full: not due").isNotDone();
    young.write(LakeFixture.readings("q0", "b-", 2, 10));
    young.commit();
    assertThat(few.join()).as("a partition's budget is full: due").containsOnly(Outcome.DELIVERED);

    LakeSink spaced = new LakeSink("lake", table, 1_000_000, 1L << 30).cadence(java.time.Duration.ZERO, java.time.Duration.ofHours(1));
    spaced.write(LakeFixture.readings("q1", "c-", 2, 3));
    spaced.commit();
    CompletableFuture<List<Outcome>> next = spaced.write(LakeFixture.readings("q1", "d-", 2, 3)).toCompletableFuture();
    spaced.commit();
    assertThat(next).as("within the spacing of the last commit").isNotDone();
    spaced.flush();
    assertThat(next.join()).as("flush (shutdown, handover) does not wait for the spacing").containsOnly(Outcome.DELIVERED);
  }

  @Test
  void closingAPartitionCompletesItsPendingReadingsAsRetryAndCommitsNothingOfIt() {
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    CompletableFuture<List<Outcome>> q0 = sink.write(LakeFixture.readings("q0", "a-", 2, 3)).toCompletableFuture();
    CompletableFuture<List<Outcome>> q1 = sink.write(LakeFixture.readings("q1", "b-", 2, 3)).toCompletableFuture();
    sink.close("q0");
    assertThat(q0.join()).allMatch(o -> o instanceof Outcome.Retry);
    sink.flush();
    assertThat(q1.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
    assertThat(CommitLedger.partitionsOf(table.currentSnapshot())).containsExactly("q1");
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo("6");
  }

  @Test
  void theSameReadingTwiceBeforeItsCommitIsWrittenOnceAndADifferentOneRejected() {
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    List<SinkRecord> batch = LakeFixture.readings("q0", "a-", 1, 2);
    Telemetry t = batch.get(0).telemetry();
    Telemetry other = new Telemetry(t.deviceId(), t.seq(), t.ts(), t.site(), t.region(), "IDLE", null, t.metrics());
    CompletableFuture<List<Outcome>> first = sink.write(batch).toCompletableFuture();
    CompletableFuture<List<Outcome>> again = sink.write(List.of(batch.get(0), new SinkRecord(other, new byte[0], "q0", 0)))
        .toCompletableFuture();
    assertThat(again).isNotDone(); // its first reading waits for the commit like the original
    sink.flush();
    assertThat(first.join()).containsOnly(Outcome.DELIVERED);
    assertThat(again.join().get(0)).isEqualTo(Outcome.DELIVERED); // the redelivery, with its original
    assertThat(again.join().get(1)).isInstanceOf(Outcome.Reject.class);
    table.refresh();
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo("2");
  }

  @Test
  void oneFlushIsOneSnapshotOfEveryPartitionWithReadingsAndEachPartitionChainsItsOwnCommits() {
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    CompletableFuture<List<Outcome>> q0 = sink.write(LakeFixture.readings("q0", "a-", 2, 3)).toCompletableFuture();
    CompletableFuture<List<Outcome>> q1 = sink.write(LakeFixture.readings("q1", "b-", 2, 3)).toCompletableFuture();
    CompletableFuture<List<Outcome>> q2 = sink.write(LakeFixture.readings("q2", "c-", 2, 3)).toCompletableFuture();
    sink.flush();
    assertThat(q0.join()).containsOnly(Outcome.DELIVERED);
    assertThat(q1.join()).containsOnly(Outcome.DELIVERED);
    assertThat(q2.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
    assertThat(table.snapshots()).hasSize(1);
    Snapshot first = table.currentSnapshot();
    assertThat(CommitLedger.partitionsOf(first)).containsExactlyInAnyOrder("q0", "q1", "q2");
    assertThat(first.summary().get("added-data-files")).isEqualTo("1"); // one file per event day (one here), not per partition

    // the next flush holds only the partition that had readings, built on the shared first commit
    CompletableFuture<List<Outcome>> more = sink.write(LakeFixture.readings("q1", "b-late-", 1, 2)).toCompletableFuture();
    sink.flush();
    assertThat(more.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
    Snapshot second = table.currentSnapshot();
    assertThat(CommitLedger.partitionsOf(second)).containsExactly("q1");
    assertThat(CommitLedger.readState(table.io(), second, Set.of("q1")).get("q1").previousCommitId())
        .isEqualTo(first.summary().get(CommitLedger.COMMIT_ID));

    // what a restarted instance reads: q1 from the second snapshot, q0 and q2 from the first
    Map<String, CommitLedger.PartitionHead> heads = CommitLedger.heads(table, List.of("q0", "q1", "q2", "q3"));
    assertThat(heads.get("q0").commitId()).isEqualTo(first.summary().get(CommitLedger.COMMIT_ID));
    assertThat(heads.get("q1").commitId()).isEqualTo(second.summary().get(CommitLedger.COMMIT_ID));
    assertThat(heads.get("q1").committed().contains("b-late-0", 2)).isTrue();
    assertThat(heads.get("q1").committed().contains("b-0", 3)).isTrue();
    assertThat(heads.get("q2").committed().contains("c-1", 1)).isTrue();
    assertThat(heads.get("q2").committed().contains("b-0", 1)).isFalse(); // each partition its own ranges
    assertThat(heads.get("q3").commitId()).isNull();
  }

  @Test
  void aPartitionHandedOverIsFencedOffAndTheOthersAreCommittedWithoutIt() {
    LakeSink a = new LakeSink("lake", table, 1000, 1L << 30);
    List<SinkRecord> q0 = LakeFixture.readings("q0", "a-", 2, 3);
    List<SinkRecord> q1 = LakeFixture.readings("q1", "b-", 2, 3);
    CompletableFuture<List<Outcome>> a0 = a.write(q0).toCompletableFuture();
    CompletableFuture<List<Outcome>> a1 = a.write(q1).toCompletableFuture();
    LakeSink b = new LakeSink("lake", table, 1000, 1L << 30); // q1's new owner, after a handover a missed
    CompletableFuture<List<Outcome>> b1 = b.write(q1).toCompletableFuture();
    b.flush();
    assertThat(b1.join()).containsOnly(Outcome.DELIVERED);

    a.flush();
    assertThat(a0.join()).containsOnly(Outcome.DELIVERED);
    assertThat(a1.join()).allMatch(o -> o instanceof Outcome.Retry);
    table.refresh();
    assertThat(CommitLedger.partitionsOf(table.currentSnapshot())).containsExactly("q0");
    // offered again, q1's readings are recognised as committed by b
    assertThat(a.write(q1).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    a.flush();
    table.refresh();
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo("12");
  }

  @Test
  void aPartitionWhoseStateCannotBeReadHoldsUpNoOtherPartition() {
    LakeSink before = new LakeSink("lake", table, 1000, 1L << 30);
    List<SinkRecord> q1 = LakeFixture.readings("q1", "b-", 2, 3);
    before.write(q1);
    before.flush();
    table.refresh();
    String lostState = table.currentSnapshot().summary().get(CommitLedger.STATE);
    List<SinkRecord> q0 = LakeFixture.readings("q0", "a-", 2, 3);
    before.write(q0);
    before.flush();
    table.io().deleteFile(lostState); // q1's newest state gone (say, removed by hand)

    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    sink.open("q1");
    sink.open("q0");
    // q0's redelivery is read together with q1's state, which fails: q0 is then read alone and recognised
    assertThat(sink.write(q0).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    assertThat(sink.write(q1).toCompletableFuture().join()).allSatisfy(o ->
        assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> assertThat(r.reason()).contains(lostState)));
  }
}
