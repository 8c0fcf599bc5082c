package io.iotpipe.storage;

import static io.iotpipe.storage.TestStore.jsonlRows;
import static io.iotpipe.storage.TestStore.parquetRows;
import static io.iotpipe.storage.TestStore.readings;
import static io.iotpipe.storage.TestStore.writeAll;
import static io.iotpipe.storage.TestStore.writeUntilCrash;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.CommitSteps.Step;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A failure and a crash at every step of the commit protocol: afterwards (the disk healed, or a new instance started
 * on the same directory) every reading is in the store exactly once, as DuckDB reads it, and no reading was acked
 * before it was readable.
 */
class CommitFaultTest {

  private static final long BUDGET = 64L << 20;

  @TempDir
  Path dir;

  /** Fails (from the n-th time on, until healed) or crashes (the n-th time, and every step after) at one step. */
  static final class Faults implements CommitSteps {
    final Step step;
    final int occurrence;
    final boolean crash;
    final AtomicInteger seen = new AtomicInteger();
    volatile boolean healed;
    volatile boolean dead;

    Faults(Step step, int occurrence, boolean crash) {
      this.step = step;
      this.occurrence = occurrence;
      this.crash = crash;
    }

    @Override
    public void before(Step s, Path path) throws IOException {
      if (dead) {
        throw new TestStore.Crash(s + " after the crash");
      }
      if (s != step || healed) {
        return;
      }
      int n = seen.incrementAndGet();
      if (crash && n == occurrence) {
        dead = true;
        throw new TestStore.Crash(s + " #" + n + " (" + path.getFileName() + ")");
      }
      if (!crash && n >= occurrence) {
        throw new IOException("injected: " + s + " of " + path.getFileName() + " failed");
      }
    }
  }

  static Stream<Arguments> steps() {
    // Each commit writes 4 files (2 event hours x 2 formats): the first and a later one of the per-file steps.
    return Stream.of(
        Arguments.of(Step.WRITE_TEMP, 1), Arguments.of(Step.WRITE_TEMP, 3), Arguments.of(Step.FSYNC_TEMP, 2),
        Arguments.of(Step.WRITE_RECORD, 1), Arguments.of(Step.LINK_RECORD, 1), Arguments.of(Step.FSYNC_LOG_DIR, 1),
        Arguments.of(Step.RENAME, 1), Arguments.of(Step.RENAME, 3), Arguments.of(Step.FSYNC_DATA_DIR, 1));
  }

  StorageConfig cfg() {
    return TestStore.config(dir.resolve("store"), "parquet, jsonl");
  }

  void assertExactlyOnce(int n) throws Exception {
    assertThat(parquetRows(dir.resolve("store"))).containsExactly(n, n);
    assertThat(jsonlRows(dir.resolve("store"))).containsExactly(n, n);
  }

  @ParameterizedTest(name = "failure at {0} #{1}")
  @MethodSource("steps")
  void aFailureAtAnyStepEndsWithEveryRowOnceAndNothingAckedThatIsNotReadable(Step step, int occurrence) throws Exception {
    List<SinkRecord> all = readings(2, 3, 8);
    Faults faults = new Faults(step, occurrence, false);
    // This test is the commit clock (no ticks behind its back): health is read between the fault and the next tick.
    try (StorageSink sink = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), faults, BUDGET, java.time.Duration.ZERO)) {
      List<Outcome> first = writeAll(sink, all, all.size());
      assertThat(faults.seen.get()).as("the fault was hit").isGreaterThanOrEqualTo(occurrence);
      assertThat(first).as("a failing disk gives retries, never a reject").noneMatch(o -> o instanceof Outcome.Reject)
          .anyMatch(o -> o instanceof Outcome.Retry);
      // Whatever was acked is readable right now, and nothing twice (rows committed but not yet acked may be too).
      long delivered = first.stream().filter(o -> o == Outcome.DELIVERED).count();
      long[] now = parquetRows(dir.resolve("store"));
      assertThat(now[0]).isEqualTo(now[1]).isGreaterThanOrEqualTo(delivered);
      boolean afterCommitPoint = step.compareTo(Step.LINK_RECORD) > 0;
      assertThat(sink.health().state()).isEqualTo(afterCommitPoint ? SinkHealth.State.DEGRADED : SinkHealth.State.UP);

      // The disk is fixed; the runtime's clock ticks (finishing interrupted commits); the broker redelivers what was not acked.
      faults.healed = true;
      sink.commit();
      List<SinkRecord> again = new ArrayList<>();
      for (int i = 0; i < all.size(); i++) {
        if (first.get(i) != Outcome.DELIVERED) {
          again.add(all.get(i));
        }
      }
      assertThat(writeAll(sink, again, again.size())).containsOnly(Outcome.DELIVERED);
      assertThat(sink.health()).isEqualTo(SinkHealth.UP);
    }
    assertExactlyOnce(all.size());
    assertNoTempFilesLeft();
  }

  @ParameterizedTest(name = "crash at {0} #{1}")
  @MethodSource("steps")
  void aCrashAtAnyStepIsFinishedByTheNextInstanceWithEveryRowOnce(Step step, int occurrence) throws Exception {
    List<SinkRecord> all = readings(2, 3, 8);
    Faults faults = new Faults(step, occurrence, true);
    StorageSink crashed = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), faults, BUDGET);
    List<Outcome> before = writeUntilCrash(crashed, all);
    assertThat(faults.dead).as("the crash happened").isTrue();
    assertThat(before).as("nothing was acked in a batch that crashed").isNull();
    crashed.abandon();

    try (StorageSink next = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), CommitSteps.NONE, BUDGET)) {
      next.open("iotpipe.storage.p0");
      next.open("iotpipe.storage.p1");
      // Everything unacked comes again.
      assertThat(writeAll(next, all, 10)).containsOnly(Outcome.DELIVERED);
      assertThat(next.health()).isEqualTo(SinkHealth.UP);
    }
    assertExactlyOnce(all.size());
  }

  @Test
  void aCrashAfterTheCommitBeforeTheAcksGivesNoSecondCopy() throws Exception {
    List<SinkRecord> all = readings(2, 3, 8);
    StorageSink crashed = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), CommitSteps.NONE, BUDGET);
    assertThat(writeAll(crashed, all, all.size())).containsOnly(Outcome.DELIVERED);
    crashed.abandon(); // the process dies before the consumer acks: the broker redelivers all of it
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (StorageSink next = new StorageSink(cfg(), Clock.systemUTC(), registry, CommitSteps.NONE, BUDGET)) {
      assertThat(writeAll(next, all, 7)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(registry.get("iotpipe.storage.duplicates.skipped").counter().count()).isEqualTo(all.size());
    assertExactlyOnce(all.size());
  }

  @Test
  void aLinkThatHappenedAlthoughItReportedAnErrorCountsAsCommitted() throws Exception {
    List<SinkRecord> all = readings(1, 3, 8);
    // The link is made, then the call fails (as an I/O error reported late would): the commit must not be undone.
    CommitSteps lateError = (step, path) -> {
      if (step == Step.LINK_RECORD && !Files.exists(path)) {
        try (var s = Files.newDirectoryStream(path.getParent(), ".rec-*.tmp")) {
          Files.createLink(path, s.iterator().next());
        }
        throw new IOException("injected: reported after the link was made");
      }
    };
    try (StorageSink sink = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), lateError, BUDGET)) {
      assertThat(writeAll(sink, all, all.size())).containsOnly(Outcome.DELIVERED);
    }
    assertExactlyOnce(all.size());
  }

  @Test
  void aCommittedFileThatVanishedRaisesTheAlarmAndItsReadingsAreNeverAcked() throws Exception {
    List<SinkRecord> all = readings(1, 3, 8);
    Faults faults = new Faults(Step.RENAME, 1, true);
    StorageSink crashed = new StorageSink(cfg(), Clock.systemUTC(), new SimpleMeterRegistry(), faults, BUDGET);
    writeUntilCrash(crashed, all);
    crashed.abandon();
    // The record is linked, the files are still under their temp names: now they are lost (a careless cleanup).
    Path store = dir.resolve("store");
    List<Path> temps;
    try (var walk = Files.walk(store)) {
      temps = walk.filter(f -> f.getFileName().toString().endsWith(".tmp") && !f.startsWith(store.resolve("_state"))).toList();
    }
    assertThat(temps).hasSize(4);
    for (Path t : temps) {
      Files.delete(t);
    }
    String claimed;
    try (var recs = Files.newDirectoryStream(CommitLog.logDir(store), "commit-*.json")) {
      claimed = new ObjectMapper().readTree(recs.iterator().next().toFile()).path("files").get(0).path("file").asText();
    }

    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (StorageSink next = new StorageSink(cfg(), Clock.systemUTC(), registry, CommitSteps.NONE, BUDGET)) {
      next.open("iotpipe.storage.p0");
      SinkHealth h = next.health();
      assertThat(h.state()).isEqualTo(SinkHealth.State.DOWN);
      assertThat(h.reason()).contains(claimed).contains("missing");
      assertThat(registry.get("iotpipe.storage.commit_alarms").counter().count()).isEqualTo(1.0);
      // The redeliveries of what the record claims: not acked (never a silent ack), the reason says why.
      List<Outcome> out = writeAll(next, all, all.size());
      assertThat(out).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains(claimed).contains("missing")));
      assertThat(registry.get("iotpipe.storage.commit_alarms").counter().count()).isEqualTo(1.0);
    }
    assertThat(StorageSink.dataFiles(store, "parquet")).isEmpty();
  }

  private void assertNoTempFilesLeft() throws IOException {
    try (var walk = Files.walk(dir.resolve("store"))) {
      assertThat(walk.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList()).isEmpty();
    }
  }
}
