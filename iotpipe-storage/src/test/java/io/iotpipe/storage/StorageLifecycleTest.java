package io.iotpipe.storage;

import static io.iotpipe.storage.TestStore.parquetRows;
import static io.iotpipe.storage.TestStore.readings;
import static io.iotpipe.storage.TestStore.writeAll;
import static io.iotpipe.storage.TestStore.writeUntilCrash;
import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.CommitSteps.Step;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sink lifecycle (open and close per partition) and its memory bound in bytes. */
class StorageLifecycleTest {

  @TempDir
  Path dir;

  @Test
  void openFinishesTheCommitACrashedPreviousOwnerLeftBeforeAnyReadingArrives() throws Exception {
    Path store = dir.resolve("store");
    List<SinkRecord> all = readings(1, 4, 6);
    CommitFaultTest.Faults crash = new CommitFaultTest.Faults(Step.RENAME, 1, true);
    StorageSink old = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry(), crash, 64L << 20);
    writeUntilCrash(old, all);
    old.abandon();
    assertThat(parquetRows(store)).containsExactly(0, 0);

    try (StorageSink next = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry())) {
      next.open("iotpipe.storage.p0");
      assertThat(parquetRows(store)).as("readable after open, no write needed").containsExactly(all.size(), all.size());
      assertThat(next.health()).isEqualTo(SinkHealth.UP);
    }
  }

  @Test
  void closingAPartitionRetriesItsOpenFileAndMakesNothingOfItDurable() throws Exception {
    Path store = dir.resolve("store");
    List<SinkRecord> all = readings(2, 3, 5);
    List<SinkRecord> p0 = all.stream().filter(r -> r.source().endsWith("p0")).toList();
    List<SinkRecord> p1 = all.stream().filter(r -> r.source().endsWith("p1")).toList();
    try (StorageSink sink = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry())) {
      sink.open("iotpipe.storage.p0");
      sink.open("iotpipe.storage.p1");
      CompletableFuture<List<Outcome>> f0 = sink.write(p0).toCompletableFuture();
      CompletableFuture<List<Outcome>> f1 = sink.write(p1).toCompletableFuture();
      // Handover: this instance loses p0 (rollAge is 1 h: nothing was committed yet).
      sink.close("iotpipe.storage.p0");
      assertThat(f0.get(5, TimeUnit.SECONDS)).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("closed")));
      sink.flush();
      assertThat(f1.join()).containsOnly(Outcome.DELIVERED);
      assertThat(parquetRows(store)).as("nothing of the closed partition").containsExactly(p1.size(), p1.size());

      // It comes back (another handover): its redeliveries are written normally.
      sink.open("iotpipe.storage.p0");
      assertThat(writeAll(sink, p0, 100)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(parquetRows(store)).containsExactly(all.size(), all.size());
  }

  @Test
  void theFirstFileAfterOpeningAPartitionCommitsWithinASecondThenFilesWaitForRollAge() throws Exception {
    // After a restart or handover the first rows of a partition are the previous owner's unacked readings: they are
    // committed (and acked) after about a second, not after rollAge (1 h here); later files roll as configured.
    Path store = dir.resolve("store");
    List<SinkRecord> all = readings(1, 3, 4);
    try (StorageSink sink = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry())) {
      sink.open("iotpipe.storage.p0");
      long t0 = System.nanoTime();
      assertThat(sink.write(all.subList(0, 6)).toCompletableFuture().get(10, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
      assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(StorageSink.FIRST_FILE_AGE_MS);
      CompletableFuture<List<Outcome>> later = sink.write(all.subList(6, 12)).toCompletableFuture();
      org.awaitility.Awaitility.await().during(java.time.Duration.ofSeconds(3)).atMost(java.time.Duration.ofSeconds(5))
          .until(() -> !later.isDone());
      sink.flush();
      assertThat(later.join()).containsOnly(Outcome.DELIVERED);
    }
    assertThat(parquetRows(store)).containsExactly(all.size(), all.size());
  }

  /** A reading of about {@code kb} KB (a long text field, as a verbose device might send). */
  static SinkRecord large(String source, String device, long seq, int kb) {
    String blob = ("x".repeat(63) + seq % 10).repeat(kb * 16);
    Telemetry t = new Telemetry(device, seq, Instant.parse("2026-11-20T10:00:00Z").plusSeconds(seq), blob, "eu-west",
        "CHARGING", null, Map.of("powerKw", 7.0));
    return new SinkRecord(t, new byte[kb * 1024], source, 0);
  }

  @Test
  void largeReadingsAreCommittedByBytesAndTheRowsHeldStayWithinTheBudget() throws Exception {
    Path store = dir.resolve("store");
    long budget = 4L << 20;
    List<SinkRecord> all = new ArrayList<>();
    for (int seq = 1; seq <= 100; seq++) {
      for (int p = 0; p < 4; p++) {
        all.add(large("iotpipe.storage.p" + p, "dev-" + p, seq, 16));
      }
    }
    List<Outcome> out;
    StorageSink sink = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry(),
        CommitSteps.NONE, budget);
    try (sink) {
      // Without a byte bound, a file would only roll at half the prefetch: 2,500 rows of 16 KB per partition.
      out = writeAll(sink, all, 40);
    }
    assertThat(out).containsOnly(Outcome.DELIVERED);
    long batchBytes = 40 * (2L * 16 * 1024 + 256);
    assertThat(sink.heldPeak()).as("held at most the budget plus one batch").isLessThanOrEqualTo(budget + batchBytes);
    assertThat(StorageSink.dataFiles(store, "parquet").size()).as("files rolled by bytes").isGreaterThan(8);
    assertThat(parquetRows(store)).containsExactly(all.size(), all.size());
  }

  @Test
  void aFleetOfSixteenKilobyteReadingsFitsA256MegabyteHeap() throws Exception {
    Path store = dir.resolve("store");
    // Its own JVM with -Xmx256m: 24,000 readings of 16 KB (384 MB) over 8 partitions, written as fast as accepted.
    // Without the byte budget (a file rolling at half the prefetch only) this ends in an OutOfMemoryError.
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), "--enable-native-access=ALL-UNNAMED",
        "--add-opens=java.base/java.nio=ALL-UNNAMED", LargeReadingsProcess.class.getName(), store.toString(), "24000")
        .redirectErrorStream(true).redirectOutput(dir.resolve("large.log").toFile()).start();
    assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
    String log = java.nio.file.Files.readString(dir.resolve("large.log"));
    assertThat(p.exitValue()).as(log).isZero();
    System.out.println(log.lines().filter(l -> l.startsWith("large readings:")).findFirst().orElse(log));
    assertThat(parquetRows(store)).containsExactly(24_000, 24_000);
  }
}
