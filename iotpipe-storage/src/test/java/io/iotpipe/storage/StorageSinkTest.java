package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The storage sink on a real file system: commit protocol, dedupe, schema, formats. */
class StorageSinkTest {

  @TempDir
  Path dir;

  StorageConfig config(String formats) {
    return TestStore.config(dir.resolve("store"), formats, true);
  }

  static List<SinkRecord> records(int partitions, int devicesPerPartition, int perDevice) {
    List<SinkRecord> out = new ArrayList<>();
    Instant base = Instant.parse("2026-11-20T10:30:00Z");
    for (int s = 1; s <= perDevice; s++) {
      for (int p = 0; p < partitions; p++) {
        for (int d = 0; d < devicesPerPartition; d++) {
          Map<String, Double> m = new LinkedHashMap<>();
          m.put("powerKw", 7.5 + s % 10);
          m.put("soc", 40.0 + s % 50);
          if (s % 10 == 0) {
            m.put("cableTempC", 31.5); // a metric the configuration does not know
          }
          Telemetry t = new Telemetry("dev-" + p + "-" + d, s, base.plusSeconds(s * 30L), "site-" + d, "eu-west", "CHARGING",
              s % 97 == 0 ? "E-OVERTEMP" : null, m);
          out.add(new SinkRecord(t, new byte[200], "iotpipe.storage.p" + p, 0));
        }
      }
    }
    return out;
  }

  long scalar(String sql) {
    try (StoreQuery q = new StoreQuery(dir.resolve("store"))) {
      return ((Number) q.query(sql).rows().get(0).get(0)).longValue();
    }
  }

  @Test
  void tenThousandRowsReadBackByDuckDbWithATrueTimestampAndNoDuplicatesAfterRedelivery() throws Exception {
    StorageConfig cfg = config("parquet");
    List<SinkRecord> all = records(4, 25, 100);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      assertThat(TestStore.writeAll(sink, all, 1000)).hasSize(10_000).containsOnly(Outcome.DELIVERED);
      // The broker redelivers everything (e.g. the acks were lost): acked again, written never.
      assertThat(TestStore.writeAll(sink, all.subList(0, 3000), 1000)).containsOnly(Outcome.DELIVERED);
    }
    // A restarted writer recognises what is committed from the commit log alone.
    try (StorageSink again = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      assertThat(TestStore.writeAll(again, all.subList(5000, 10_000), 2500)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(10_000);
    assertThat(scalar("SELECT count(DISTINCT (device_id, seq)) FROM telemetry")).isEqualTo(10_000);
    try (StoreQuery q = new StoreQuery(dir.resolve("store"))) {
      assertThat(q.query("SELECT typeof(ts) FROM telemetry LIMIT 1").rows().get(0).get(0)).isEqualTo("TIMESTAMP WITH TIME ZONE");
      assertThat(q.query("SELECT min(ts)::VARCHAR FROM telemetry").rows().get(0).get(0).toString()).startsWith("2026-11-20 10:30:30");
      // Hive partitions by event hour.
      assertThat(q.query("SELECT DISTINCT hour FROM telemetry ORDER BY 1").rows()).hasSizeGreaterThan(1);
      // The unknown metric is kept, not dropped.
      assertThat(q.query("SELECT count(*) FROM telemetry WHERE extra_metrics['cableTempC'] = 31.5").rows().get(0).get(0))
          .isEqualTo(1000L);
    }
  }

  @Test
  void leftoverTempFilesOfACrashAreInvisibleAndACommittedButUnrenamedFileIsRolledForward() throws Exception {
    StorageConfig cfg = config("parquet");
    List<SinkRecord> all = records(1, 10, 10);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      TestStore.writeAll(sink, all, 100);
    }
    Path f = StorageSink.dataFiles(dir.resolve("store"), "parquet").get(0);
    // A crash after the commit record but before the rename: the data is only under its temp name.
    Path tmp = f.resolveSibling("." + f.getFileName() + ".tmp");
    Files.move(f, tmp);
    // A crash before any commit record: an orphan temp file.
    Files.copy(tmp, f.resolveSibling(".orphan.parquet.tmp"));
    try (StorageSink restarted = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      assertThat(TestStore.writeAll(restarted, all, 100)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(100);
    assertThat(f).exists();
  }

  @Test
  void everyFormatIsReadBackByAnIndependentReader() throws Exception {
    StorageConfig cfg = config("parquet, feather, hdf5, jsonl");
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      assertThat(TestStore.writeAll(sink, records(2, 5, 10), 50)).hasSize(100).containsOnly(Outcome.DELIVERED);
    }
    Path store = dir.resolve("store");
    long feather = 0;
    for (Path f : StorageSink.dataFiles(store, "arrow")) {
      try (var alloc = new RootAllocator(); var ch = FileChannel.open(f); var reader = new ArrowFileReader(ch, alloc)) {
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        assertThat(root.getSchema().findField("ts").getType().toString()).contains("Timestamp(MILLISECOND, UTC)");
        while (reader.loadNextBatch()) {
          feather += root.getRowCount();
        }
      }
    }
    assertThat(feather).isEqualTo(100);
    long hdf5 = 0;
    for (Path f : StorageSink.dataFiles(store, "h5")) {
      try (var h = new io.jhdf.HdfFile(f)) {
        long[] seq = (long[]) h.getDatasetByPath("telemetry/seq").getData();
        String[] devices = (String[]) h.getDatasetByPath("telemetry/device_id").getData();
        assertThat(devices).hasSameSizeAs(seq);
        hdf5 += seq.length;
      }
    }
    assertThat(hdf5).isEqualTo(100);
    try (var db = java.sql.DriverManager.getConnection("jdbc:duckdb:"); var s = db.createStatement();
         var rs = s.executeQuery("SELECT count(*), count(DISTINCT (device_id, seq)) FROM read_json('" + store + "/**/*.jsonl.gz')")) {
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(100);
      assertThat(rs.getLong(2)).isEqualTo(100);
    }
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(100);
  }

  @Test
  void anUnwritableStoreGivesRetriesNotLossAndWorksOnceFixed() throws Exception {
    StorageConfig cfg = config("parquet");
    Path store = dir.resolve("store");
    // A file where the store's hour directory must go: even root cannot create the directory.
    Files.createDirectories(store.resolve("date=2026-11-20"));
    Files.writeString(store.resolve("date=2026-11-20/hour=10"), "in the way");
    List<SinkRecord> all = records(1, 2, 5);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      List<Outcome> out = TestStore.writeAll(sink, all, 10);
      assertThat(out).isNotEmpty().allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("storage commit failed")));
      Files.delete(store.resolve("date=2026-11-20/hour=10"));
      assertThat(TestStore.writeAll(sink, all, 10)).containsOnly(Outcome.DELIVERED);
    }
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(10);
  }

  @Test
  void compactionLeavesTheSameRowsInFewerFiles() throws Exception {
    StorageConfig cfg = config("parquet");
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      List<SinkRecord> all = records(4, 5, 40);
      for (int i = 0; i < all.size(); i += 100) {
        sink.write(all.subList(i, i + 100));
        sink.flush(); // many small commits, as a low-traffic hour would produce
      }
    }
    Path store = dir.resolve("store");
    int before = StorageSink.dataFiles(store, "parquet").size();
    // ingest_ts included: compaction keeps each row's own (the storage-visibility latency is measured from it).
    String digest = "SELECT count(*), sum(seq), sum(powerKw)::BIGINT, count(extra_metrics['cableTempC']), sum(epoch_ms(ingest_ts)) FROM telemetry";
    List<Object> expected;
    try (StoreQuery q = new StoreQuery(store)) {
      expected = q.query(digest).rows().get(0);
    }
    Compactor.Result r = Compactor.compact(store, cfg.metrics(), Duration.ZERO, Clock.systemUTC());
    int after = StorageSink.dataFiles(store, "parquet").size();
    assertThat(after).isLessThan(before).isEqualTo(r.filesAfter());
    try (StoreQuery q = new StoreQuery(store)) {
      assertThat(q.query(digest).rows().get(0)).isEqualTo(expected);
      assertThat(q.query("SELECT typeof(ts) FROM telemetry LIMIT 1").rows().get(0).get(0)).isEqualTo("TIMESTAMP WITH TIME ZONE");
    }
  }

  @Test
  void housekeepingMergesClosedHoursDropsExpiredDaysAndMergesLateFilesAgain() throws Exception {
    Path store = dir.resolve("store");
    StorageConfig cfg = IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        storage:
          dir: %s
          rollAge: 1h
          metrics: [powerKw, soc]
          retention: 3d
          compaction: {after: 15m, every: 1h}
        """.formatted(store), k -> null).storage();
    // Readings of 2026-11-20 10:30..; "now" is 2026-11-22 12:00: hours of the 20th are closed, nothing is past 3 days.
    Clock now = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), java.time.ZoneOffset.UTC);
    List<SinkRecord> all = records(2, 3, 240);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      for (int i = 0; i < all.size() - 60; i += 60) {
        sink.write(all.subList(i, i + 60));
        sink.flush();
      }
    }
    int before = StorageSink.dataFiles(store, "parquet").size();
    Housekeeper.Round first = new Housekeeper(cfg, now, new SimpleMeterRegistry()).round();
    assertThat(first.skipped()).isFalse();
    assertThat(first.daysDropped()).isEmpty();
    assertThat(first.filesAfter()).isEqualTo(first.hoursCompacted()).isPositive();
    assertThat(StorageSink.dataFiles(store, "parquet")).hasSize(before - first.filesBefore() + first.filesAfter());
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(all.size() - 60);

    // Late readings for an hour already merged: a later round merges them in, nothing seen twice.
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      sink.write(all.subList(all.size() - 60, all.size()));
      sink.flush();
    }
    Housekeeper.Round second = new Housekeeper(cfg, now, new SimpleMeterRegistry()).round();
    assertThat(second.hoursCompacted()).isPositive();
    assertThat(scalar("SELECT count(*) FROM telemetry")).isEqualTo(all.size());
    assertThat(scalar("SELECT count(DISTINCT (device_id, seq)) FROM telemetry")).isEqualTo(all.size());
    try (var files = Files.walk(store)) {
      assertThat(files.filter(f -> f.toString().endsWith(".parquet")).map(f -> f.getParent()).distinct().count())
          .as("one file per hour after the rounds").isEqualTo(StorageSink.dataFiles(store, "parquet").size());
    }

    // Five days later the whole day is past the retention and goes.
    Clock later = Clock.offset(now, Duration.ofDays(5));
    assertThat(new Housekeeper(cfg, later, new SimpleMeterRegistry()).round().daysDropped()).containsExactly("date=2026-11-20");
    assertThat(StorageSink.dataFiles(store, "parquet")).isEmpty();
  }

  @Test
  void onlyOneProcessAtATimeRewritesTheStore() throws Exception {
    StorageConfig cfg = config("parquet");
    Files.createDirectories(dir.resolve("store"));
    try (StoreLock held = StoreLock.acquire(dir.resolve("store"), false)) {
      assertThat(held).isNotNull();
      // Another instance's round (another thread here; the file lock covers other processes) skips instead of waiting.
      var other = java.util.concurrent.Executors.newSingleThreadExecutor();
      Housekeeper.Round r;
      try {
        r = other.submit(() -> new Housekeeper(cfg, Clock.systemUTC(), new SimpleMeterRegistry()).round()).get();
      } finally {
        other.shutdown();
      }
      assertThat(r.skipped()).isTrue();
    }
    assertThat(new Housekeeper(cfg, Clock.systemUTC(), new SimpleMeterRegistry()).round().skipped()).isFalse();
  }
}
