package io.iotpipe.storage;

import static io.iotpipe.storage.TestStore.parquetRows;
import static io.iotpipe.storage.TestStore.reading;
import static io.iotpipe.storage.TestStore.writeAll;
import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code (deviceId, seq)} is unique in the whole store directory, whichever partition queue, instance, region or
 * process a reading comes through; a second reading of a stored key with other content is rejected, the first kept.
 */
class StoreUniquenessTest {

  static final int BATCH = 40;

  @TempDir
  Path dir;

  /** The readings every writer of the cross-writer tests offers, through its own queue {@code source}. */
  static List<SinkRecord> shared(String source) {
    List<SinkRecord> out = new ArrayList<>();
    for (int seq = 1; seq <= 40; seq++) {
      for (int d = 0; d < 25; d++) {
        out.add(reading(source, "dev-" + d, seq, 7.5 + seq));
      }
    }
    return out;
  }

  StorageSink sink() {
    return new StorageSink(TestStore.config(dir.resolve("store"), "parquet"), Clock.systemUTC(), new SimpleMeterRegistry());
  }

  double storedPower(String device, long seq) {
    try (StoreQuery q = new StoreQuery(dir.resolve("store"))) {
      return ((Number) q.query("SELECT powerKw FROM telemetry WHERE device_id = '" + device + "' AND seq = " + seq)
          .rows().get(0).get(0)).doubleValue();
    }
  }

  @Test
  void theSameReadingThroughTwoPartitionQueuesIsStoredOnce() {
    try (StorageSink sink = sink()) {
      // Published under two routing keys that hash to different partitions: same batch, and later batches.
      List<Outcome> out = writeAll(sink, List.of(reading("q.p0", "victim-01", 1, 7.0), reading("q.p1", "victim-01", 1, 7.0)), 10);
      assertThat(out).containsOnly(Outcome.DELIVERED);
      assertThat(writeAll(sink, List.of(reading("q.p2", "victim-01", 1, 7.0)), 10)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(1, 1);
  }

  @Test
  void twoInstancesOnOneDirectoryWritingTheSameReadingsAtOnceStoreEachOnce() throws Exception {
    // Two regions' store instances on one directory, both receiving every reading (a shovel resending after a lost
    // confirm), committing side by side.
    try (StorageSink a = sink(); StorageSink b = sink()) {
      List<SinkRecord> viaA = shared("eu.p0");
      List<SinkRecord> viaB = new ArrayList<>(shared("us.p3"));
      java.util.Collections.reverse(viaB);
      CompletableFuture<List<Outcome>> fa = CompletableFuture.supplyAsync(() -> inBatches(a, viaA));
      CompletableFuture<List<Outcome>> fb = CompletableFuture.supplyAsync(() -> inBatches(b, viaB));
      assertThat(fa.get(60, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
      assertThat(fb.get(60, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(1000, 1000);
  }

  @Test
  void aSecondProcessWritingTheSameReadingsAtOnceStoresNothingTwice() throws Exception {
    Path store = dir.resolve("store");
    // The other writer is a real second JVM: the commit lock must hold across processes, not only threads.
    Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "--enable-native-access=ALL-UNNAMED",
        StoreWriterProcess.class.getName(), store.toString(), "us.p1", dir.resolve("ready").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("other.log").toFile()).start();
    List<Outcome> mine;
    try (StorageSink sink = sink()) {
      // Both write at the same time: the other starts as soon as its sink is up, this one when it sees that.
      Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(dir.resolve("ready")) || !other.isAlive());
      mine = inBatches(sink, shared("eu.p2"));
      assertThat(other.waitFor(120, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(other.exitValue()).as(Files.readString(dir.resolve("other.log"))).isZero();
    assertThat(mine).containsOnly(Outcome.DELIVERED);
    assertThat(parquetRows(store)).containsExactly(1000, 1000);
  }

  static List<Outcome> inBatches(StorageSink sink, List<SinkRecord> all) {
    List<Outcome> out = new ArrayList<>();
    for (int i = 0; i < all.size(); i += BATCH) {
      out.addAll(writeAll(sink, all.subList(i, Math.min(all.size(), i + BATCH)), BATCH));
    }
    return out;
  }

  @Test
  void aSecondReadingOfAStoredKeyWithOtherContentIsRejectedAndTheFirstKept() {
    SinkRecord first = reading("q.p0", "dev-1", 5, 7.0);
    SinkRecord forged = reading("q.p1", "dev-1", 5, 99.0);
    try (StorageSink sink = sink()) {
      // Both in one open file: the first wins at once.
      List<Outcome> out = writeAll(sink, List.of(first, reading("q.p0", "dev-1", 5, 99.0)), 10);
      assertThat(out.get(0)).isEqualTo(Outcome.DELIVERED);
      assertThat(out.get(1)).isInstanceOfSatisfying(Outcome.Reject.class,
          r -> assertThat(r.reason()).contains("(dev-1, 5)").contains("different content"));
      // After the commit, through another queue: rejected; the same content again: delivered, not written.
      assertThat(writeAll(sink, List.of(forged), 10).get(0)).isInstanceOfSatisfying(Outcome.Reject.class,
          r -> assertThat(r.reason()).contains("(deviceId, seq) (dev-1, 5) already stored with different content"));
      assertThat(writeAll(sink, List.of(first), 10)).containsOnly(Outcome.DELIVERED);
    }
    // Another instance (another region), and a restarted one, know the content from the commit records.
    try (StorageSink other = sink()) {
      assertThat(writeAll(other, List.of(forged), 10).get(0)).isInstanceOf(Outcome.Reject.class);
      assertThat(writeAll(other, List.of(first), 10)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(1, 1);
    assertThat(storedPower("dev-1", 5)).isEqualTo(7.0);
  }

  @Test
  void aConflictingReadingCommittedByAnotherInstanceMeanwhileIsRejectedAtCommit() {
    // Instance a holds the forged reading in its open file while instance b commits the genuine one.
    try (StorageSink a = sink(); StorageSink b = sink()) {
      CompletableFuture<List<Outcome>> pending = a.write(List.of(reading("eu.p0", "dev-2", 1, 99.0))).toCompletableFuture();
      assertThat(writeAll(b, List.of(reading("us.p0", "dev-2", 1, 7.0)), 10)).containsOnly(Outcome.DELIVERED);
      a.flush();
      assertThat(pending.join().get(0)).isInstanceOf(Outcome.Reject.class);
    }
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(1, 1);
    assertThat(storedPower("dev-2", 1)).isEqualTo(7.0);
  }

  @Test
  void longAfterTheCommitAndARestartAConflictingReadingIsStillRejected() {
    // 120 commits: the log is folded into checkpoints and the first records are gone, with their fingerprints.
    try (StorageSink sink = sink()) {
      for (int seq = 1; seq <= 120; seq++) {
        List<SinkRecord> one = new ArrayList<>();
        for (int d = 0; d < 5; d++) {
          one.add(reading("q.p0", "dev-" + d, seq, 7.5 + seq));
        }
        assertThat(writeAll(sink, one, 10)).containsOnly(Outcome.DELIVERED);
      }
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (StorageSink restarted = new StorageSink(TestStore.config(dir.resolve("store"), "parquet"), Clock.systemUTC(), registry)) {
      // Compared with the stored row itself: the forged one rejected, the genuine one acked.
      List<Outcome> out = writeAll(restarted, List.of(reading("q.p1", "dev-3", 2, 99.0), reading("q.p1", "dev-3", 2, 7.5 + 2)), 10);
      assertThat(out.get(0)).isInstanceOfSatisfying(Outcome.Reject.class, r -> assertThat(r.reason()).contains("(dev-3, 2)"));
      assertThat(out.get(1)).isEqualTo(Outcome.DELIVERED);
      // A recent key: known from the records still in the log.
      assertThat(writeAll(restarted, List.of(reading("q.p1", "dev-3", 120, 1.0)), 10).get(0)).isInstanceOf(Outcome.Reject.class);
    }
    assertThat(registry.get("iotpipe.storage.duplicates.unverified").counter().count()).isZero();
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(600, 600);
    assertThat(storedPower("dev-3", 2)).isEqualTo(9.5);
  }

  @Test
  void aStoreWrittenWithPerQueueCommitLogsIsUpgradedInPlace() throws Exception {
    // The layout before the store-wide log: _state/<queue>/commit-N.json, here one whose rename a crash interrupted.
    Path store = dir.resolve("store");
    Path hour = Files.createDirectories(store.resolve("date=2026-11-20/hour=11"));
    List<SinkRecord> old = List.of(reading("q.p0", "dev-1", 1, 8.5), reading("q.p0", "dev-1", 2, 9.5));
    new io.iotpipe.storage.format.ParquetFormat(new io.iotpipe.storage.format.StoreSchema(List.of("powerKw", "soc")))
        .write(hour.resolve(".q.p0-0000000001.parquet.tmp"), old.stream().map(SinkRecord::telemetry).toList(), 0);
    Path legacy = Files.createDirectories(store.resolve("_state/q.p0"));
    Files.writeString(legacy.resolve("commit-0000000001.json"), """
        {"commit":1,"files":[{"tmp":"date=2026-11-20/hour=11/.q.p0-0000000001.parquet.tmp","file":"date=2026-11-20/hour=11/q.p0-0000000001.parquet"}],
         "ranges":{"dev-1":[[1,2]]}}""");
    try (StorageSink sink = sink()) {
      List<Outcome> out = writeAll(sink, List.of(old.get(0), reading("q.p3", "dev-1", 2, 1.0), reading("q.p3", "dev-1", 3, 10.5)), 10);
      assertThat(out.get(0)).isEqualTo(Outcome.DELIVERED);
      assertThat(out.get(1)).isInstanceOf(Outcome.Reject.class);
      assertThat(out.get(2)).isEqualTo(Outcome.DELIVERED);
    }
    assertThat(parquetRows(store)).containsExactly(3, 3);
  }
}
