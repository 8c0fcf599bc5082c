package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What one commit costs (write, fsync, record, renames), as the {@code iotpipe.storage.commit} timer measures it:
 * 4 partitions, 120 commits of 250 rows each. Prints the figures (they are machine-dependent, so not asserted);
 * asserts that every row is there once.
 */
class CommitCostTest {

  @TempDir
  Path dir;

  @Test
  void commitCost() throws Exception {
    StorageConfig cfg = TestStore.config(dir.resolve("store"), "parquet");
    List<SinkRecord> all = StorageSinkTest.records(4, 50, 150);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    long t0 = System.nanoTime();
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), registry)) {
      for (int i = 0; i < all.size(); i += 1000) {
        var f = sink.write(all.subList(i, i + 1000)).toCompletableFuture();
        sink.flush();
        assertThat(f.join()).containsOnly(Outcome.DELIVERED);
      }
    }
    long wall = System.nanoTime() - t0;
    Timer commit = registry.get("iotpipe.storage.commit").timer();
    var pct = commit.takeSnapshot().percentileValues();
    System.out.printf("commit cost: %d commits, mean %.2f ms, p50 %.2f ms, p99 %.2f ms; %d rows in %.0f ms (%.0f rows/s)%n",
        commit.count(), commit.mean(TimeUnit.MILLISECONDS), pct[0].value(TimeUnit.MILLISECONDS), pct[1].value(TimeUnit.MILLISECONDS),
        all.size(), wall / 1e6, all.size() / (wall / 1e9));
    Path log = dir.resolve("store/_state/log");
    if (java.nio.file.Files.isDirectory(log)) {
      try (var files = java.nio.file.Files.list(log)) {
        var sizes = files.filter(f -> f.getFileName().toString().startsWith("commit-"))
            .mapToLong(f -> f.toFile().length()).summaryStatistics();
        System.out.printf("commit records: %.0f bytes on average for %d rows (%d records in the log)%n",
            sizes.getAverage(), all.size() / commit.count(), sizes.getCount());
      }
    }
    if (registry.find("iotpipe.storage.commit.point").timer() != null) {
      Timer point = registry.get("iotpipe.storage.commit.point").timer();
      var pp = point.takeSnapshot().percentileValues();
      System.out.printf("commit point (lock, catch-up, uniqueness check, link, log fsync): mean %.2f ms, p50 %.2f ms, p99 %.2f ms%n",
          point.mean(TimeUnit.MILLISECONDS), pp[0].value(TimeUnit.MILLISECONDS), pp[1].value(TimeUnit.MILLISECONDS));
    }
    try (StoreQuery q = new StoreQuery(dir.resolve("store"))) {
      assertThat(q.query("SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry").rows().get(0))
          .containsExactly((long) all.size(), (long) all.size());
    }
  }
}
