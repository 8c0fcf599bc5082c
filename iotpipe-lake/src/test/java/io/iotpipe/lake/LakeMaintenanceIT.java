package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compaction, snapshot expiry, orphan removal and retention against the real s3proxy and SQLite catalog. */
class LakeMaintenanceIT {

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

  private static LakeFixture lake() {
    return lake;
  }

  private static List<SinkRecord> commitInSmallBatches(LakeSink sink, List<SinkRecord> readings, int per) {
    List<CompletableFuture<List<Outcome>>> stages = new ArrayList<>();
    for (int from = 0; from < readings.size(); from += per) {
      stages.add(sink.write(readings.subList(from, Math.min(readings.size(), from + per))).toCompletableFuture());
      sink.flush();
    }
    stages.forEach(s -> assertThat(s.join()).containsOnly(Outcome.DELIVERED));
    return readings;
  }

  @Test
  void compactionWhileAnotherWriterCommitsLeavesEveryReadingOnce() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake().table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    List<SinkRecord> first = commitInSmallBatches(sink, LakeFixture.readings("storage.p0", "evc-", 6, 40), 24);
    int filesBefore = lake().dataFiles(table).size();
    assertThat(filesBefore).isGreaterThanOrEqualTo(10);

    CompletableFuture<List<SinkRecord>> writer = CompletableFuture.supplyAsync(() -> {
      LakeSink other = new LakeSink("lake", lake().table(id, null, LakeFixture.METRICS), 1_000_000, 1L << 30);
      return commitInSmallBatches(other, LakeFixture.readings("storage.p1", "evd-", 4, 30), 20);
    });
    LakeMaintenance maintenance = new LakeMaintenance(lake().table(id, null, LakeFixture.METRICS));
    LakeMaintenance.Compacted c = maintenance.compact(4, 1_000_000);
    List<SinkRecord> second = writer.get();

    assertThat(c.days()).isGreaterThanOrEqualTo(1);
    assertThat(c.filesAfter()).isLessThan(c.filesBefore());
    lake.assertExactlyOnce(table, Stream.concat(first.stream(), second.stream()).toList());
    // A second pass merges what the other writer added meanwhile: one file per event day.
    maintenance.compact(2, 1_000_000);
    table.refresh();
    assertThat(lake().dataFiles(table)).hasSize(2);
    lake.assertExactlyOnce(table, Stream.concat(first.stream(), second.stream()).toList());
  }

  @Test
  void expiryKeepsWhatARestartNeedsToRecogniseARedelivery() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake().table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    List<SinkRecord> p0 = commitInSmallBatches(sink, LakeFixture.readings("storage.p0", "evc-", 3, 20), 15);
    List<SinkRecord> p1 = commitInSmallBatches(sink, LakeFixture.readings("storage.p1", "evd-", 3, 20), 15);
    int expired = new LakeMaintenance(table).expireSnapshots(Duration.ZERO, Duration.ofDays(7), Instant.now().plusSeconds(1));
    assertThat(expired).isPositive();

    LakeSink restarted = new LakeSink("lake", lake().table(id, null, LakeFixture.METRICS), 1_000_000, 1L << 30);
    CompletableFuture<List<Outcome>> again = restarted.write(Stream.concat(p0.stream(), p1.stream()).toList()).toCompletableFuture();
    restarted.flush();
    assertThat(again.join()).containsOnly(Outcome.DELIVERED);
    lake.assertExactlyOnce(table, Stream.concat(p0.stream(), p1.stream()).toList());
  }

  @Test
  void orphansOfAFailedCommitAreRemovedAndNothingLiveIs() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake().table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    List<SinkRecord> ok = commitInSmallBatches(sink, LakeFixture.readings("storage.p0", "evc-", 3, 10), 30);
    Faults faults = new Faults();
    LakeSink failing = new LakeSink("lake", lake().table(id, faults, LakeFixture.METRICS), 1_000_000, 1L << 30);
    failing.open("storage.p1");
    failing.flush(); // its claim
    faults.arm(Faults.Step.MANIFEST_LIST, Faults.Kind.FAIL);
    List<SinkRecord> staged = LakeFixture.readings("storage.p1", "evd-", 3, 10);
    CompletableFuture<List<Outcome>> acked = failing.write(staged).toCompletableFuture();
    failing.flush();
    // staged (acked), the commit failed: its state file and manifest are orphans, the staged files are not
    assertThat(acked.join()).containsOnly(Outcome.DELIVERED);

    int removed = new LakeMaintenance(table).removeOrphans(Duration.ZERO, Instant.now().plusSeconds(5));
    assertThat(removed).isGreaterThanOrEqualTo(2);
    lake.assertExactlyOnce(table, ok);
    failing.flush(); // the next tick commits what stayed staged
    List<SinkRecord> all = Stream.concat(ok.stream(), staged.stream()).toList();
    lake.assertExactlyOnce(table, all);
    assertThat(new LakeMaintenance(table).removeOrphans(Duration.ZERO, Instant.now().plusSeconds(5))).isZero();
    // The partition state survived: a restart still recognises the committed readings.
    LakeSink restarted = new LakeSink("lake", lake().table(id, null, LakeFixture.METRICS), 1_000_000, 1L << 30);
    CompletableFuture<List<Outcome>> again = restarted.write(all).toCompletableFuture();
    restarted.flush();
    assertThat(again.join()).containsOnly(Outcome.DELIVERED);
    lake.assertExactlyOnce(table, all);
  }

  /**
   * Readings acked at the hand-off by an owner that crashed before its commit: orphan removal, however aggressive,
   * keeps their data files and stage record (they are on the partition's chain), and the next owner commits them.
   */
  @Test
  void aCrashedOwnersStagesSurviveOrphanRemovalAndTheNextOwnerCommitsThem() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake().table(id, null, LakeFixture.METRICS);
    Faults faults = new Faults();
    LakeSink crashing = new LakeSink("lake", lake().table(id, faults, LakeFixture.METRICS), 1_000_000, 1L << 30);
    crashing.open("storage.p0");
    crashing.flush(); // its claim
    faults.arm(Faults.Step.STATE_FILE, Faults.Kind.CRASH);
    List<SinkRecord> acked = LakeFixture.readings("storage.p0", "evs-", 3, 10);
    CompletableFuture<List<Outcome>> out = crashing.write(acked).toCompletableFuture();
    try {
      crashing.flush();
    } catch (Faults.Crash expected) {
      // died after the hand-off, before the commit
    }
    assertThat(out.join()).as("acked at the hand-off").containsOnly(Outcome.DELIVERED);

    new LakeMaintenance(table).removeOrphans(Duration.ZERO, Instant.now().plusSeconds(5));
    LakeSink next = new LakeSink("lake", lake().table(id, null, LakeFixture.METRICS), 1_000_000, 1L << 30);
    next.open("storage.p0");
    next.flush(); // its claim commits the crashed owner's stage
    lake.assertExactlyOnce(lake().table(id, null, LakeFixture.METRICS), acked);
    assertThat(new LakeMaintenance(table).removeOrphans(Duration.ZERO, Instant.now().plusSeconds(5)))
        .as("committed: the stage record is gone, nothing else is an orphan").isZero();
  }

  @Test
  void retentionDropsWholeOldDaysAndARedeliveredOldReadingIsNotResurrected() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    Table table = lake().table(id, null, LakeFixture.METRICS);
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    List<SinkRecord> all = commitInSmallBatches(sink, LakeFixture.readings("storage.p0", "evc-", 3, 40), 60);
    // Readings span 2026-12-06 23:59:32 .. 2026-12-07 00:00:50; keep from 2026-12-07 on.
    new LakeMaintenance(table).dropDaysBefore(Duration.ofHours(36), Instant.parse("2026-12-08T12:00:00Z"));
    List<SinkRecord> kept = all.stream().filter(r -> !r.telemetry().ts().isBefore(Instant.parse("2026-12-07T00:00:00Z"))).toList();
    assertThat(kept).hasSizeBetween(1, all.size() - 1);
    lake.assertExactlyOnce(table, kept);

    CompletableFuture<List<Outcome>> again = sink.write(all).toCompletableFuture();
    sink.flush();
    assertThat(again.join()).containsOnly(Outcome.DELIVERED);
    lake.assertExactlyOnce(table, kept);
  }
}
