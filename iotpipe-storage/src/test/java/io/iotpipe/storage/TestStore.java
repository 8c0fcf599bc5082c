package io.iotpipe.storage;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Shared fixtures of the storage tests: a store configuration, readings, and counting rows with DuckDB. */
final class TestStore {

  private TestStore() {}

  static StorageConfig config(Path store, String formats) {
    return config(store, formats, false);
  }

  /** Compaction off by default in tests that count files; on where a test covers it. */
  static StorageConfig config(Path store, String formats, boolean compaction) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        storage:
          dir: %s
          formats: [%s]
          rollAge: 1h
          metrics: [powerKw, soc]
          compaction: {enabled: %s}
        """.formatted(store, formats, compaction), k -> null).storage();
  }

  /** One reading; {@code power} lets a test make a second, different reading of the same key. */
  static SinkRecord reading(String source, String device, long seq, double power) {
    // Every 5 minutes from 10:50: a device's readings span two event hours, so a commit writes two files per format.
    Telemetry t = new Telemetry(device, seq, Instant.parse("2026-11-20T10:50:00Z").plusSeconds(300 * seq), "site-1",
        "eu-west", "CHARGING", null, Map.of("powerKw", power, "soc", 50.0 + seq));
    return new SinkRecord(t, new byte[200], source, 0);
  }

  /** {@code devices} devices per partition queue, {@code perDevice} readings each. */
  static List<SinkRecord> readings(int partitions, int devices, int perDevice) {
    List<SinkRecord> out = new ArrayList<>();
    for (int s = 1; s <= perDevice; s++) {
      for (int p = 0; p < partitions; p++) {
        for (int d = 0; d < devices; d++) {
          out.add(reading("iotpipe.storage.p" + p, "dev-" + p + "-" + d, s, 7.5 + s));
        }
      }
    }
    return out;
  }

  /** Writes in batches, then flushes (so every outcome completes) and returns the outcomes in order. */
  static List<Outcome> writeAll(StorageSink sink, List<SinkRecord> all, int batch) {
    List<CompletableFuture<List<Outcome>>> fs = new ArrayList<>();
    for (int i = 0; i < all.size(); i += batch) {
      fs.add(sink.write(all.subList(i, Math.min(all.size(), i + batch))).toCompletableFuture());
    }
    sink.flush();
    return fs.stream().flatMap(f -> f.join().stream()).toList();
  }

  /** As {@link #writeAll} for a sink that may crash: flush errors are ignored, unfinished outcomes are null. */
  static List<Outcome> writeUntilCrash(StorageSink sink, List<SinkRecord> all) {
    CompletableFuture<List<Outcome>> f = sink.write(all).toCompletableFuture();
    try {
      sink.flush();
    } catch (CompletionException | Crash crashed) {
      // the commit stopped at the crash
    }
    return f.isDone() ? f.join() : null;
  }

  /** {@code [rows, distinct (device_id, seq)]} of the Parquet files, through the store's own query view. */
  static long[] parquetRows(Path store) {
    if (noParquet(store)) {
      return new long[] {0, 0};
    }
    try (StoreQuery q = new StoreQuery(store)) {
      List<Object> r = q.query("SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry").rows().get(0);
      return new long[] {((Number) r.get(0)).longValue(), ((Number) r.get(1)).longValue()};
    }
  }

  /** {@code [rows, distinct (device_id, seq)]} of the JSON Lines files, read by DuckDB directly. */
  static long[] jsonlRows(Path store) throws Exception {
    if (StorageSink.dataFiles(store, "jsonl.gz").isEmpty()) {
      return new long[] {0, 0};
    }
    try (var db = DriverManager.getConnection("jdbc:duckdb:"); Statement s = db.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT (device_id, seq)) FROM read_json('" + store + "/date=*/hour=*/*.jsonl.gz')")) {
      rs.next();
      return new long[] {rs.getLong(1), rs.getLong(2)};
    }
  }

  /** A simulated process death at a commit step: an Error, so no cleanup code of the sink catches it. */
  static final class Crash extends Error {
    Crash(String where) {
      super("simulated crash at " + where);
    }
  }

  private static boolean noParquet(Path store) {
    try {
      return StoreQuery.visibleFiles(store).isEmpty();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
