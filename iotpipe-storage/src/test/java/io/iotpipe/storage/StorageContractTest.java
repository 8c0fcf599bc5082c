package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the contract's policies add to a reading lands in the files: attributes (the unknown fields kept), the
 * device's time when {@code ts} was replaced, the clock flag; late readings land in their own day; and a reading
 * received twice under {@code receive-time} (two receive times, one device time) is stored once.
 */
class StorageContractTest {

  @TempDir
  Path dir;

  private static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");

  /** Three firmware generations, a clock ahead replaced by the receive time, and a charger back after three days. */
  static List<SinkRecord> fleet() {
    List<Telemetry> t = new ArrayList<>();
    t.add(new Telemetry("evc-gen1-001", 41, NOW.minusSeconds(50), "ams-03", "eu-west", "CHARGING", null, Map.of("powerKw", 10.8)));
    t.add(new Telemetry("evc-gen2-001", 1001, NOW.minusSeconds(40), "ber-11", "eu-west", "CHARGING", null, Map.of("powerKw", 22.0),
        Map.of("fw", "2.4.1", "connectorId", "2", "plug", "{\"type\":\"CCS2\",\"locked\":true}"), null, false));
    t.add(new Telemetry("evc-gen3-001", 5, NOW.minusSeconds(30), "osl-07", "eu-north", "CHARGING", null, Map.of("powerKw", 150.2),
        Map.of("fw", "3.0.0", "channel", "stable"), null, false));
    t.add(new Telemetry("evc-gen3-002", 310, NOW, "osl-07", "eu-north", "CHARGING", null, Map.of("powerKw", 49.0),
        Map.of("fw", "3.0.1"), NOW.plus(Duration.ofMinutes(30)), true));
    t.add(new Telemetry("evc-gen3-003", 9, NOW.plus(Duration.ofMinutes(30)), "osl-07", "eu-north", "CHARGING", null,
        Map.of("powerKw", 48.0), Map.of(), null, true));
    t.add(new Telemetry("evc-gen1-002", 7, Instant.parse("2026-11-20T08:15:30Z"), "rtm-01", null, "FAULTED", "E-OVERTEMP", Map.of()));
    return t.stream().map(r -> new SinkRecord(r, new byte[100], "iotpipe.storage.p0", 0)).toList();
  }

  private List<Object> row(StoreQuery q, String sql) {
    return q.query(sql).rows().getFirst();
  }

  @Test
  void attributesDeviceTimeAndTheClockFlagAreColumnsAndLateReadingsLandInTheirOwnDay() throws Exception {
    StorageConfig cfg = TestStore.config(dir.resolve("store"), "parquet, jsonl", true);
    List<SinkRecord> fleet = fleet();
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      assertThat(TestStore.writeAll(sink, fleet, 10)).hasSize(6).containsOnly(Outcome.DELIVERED);
      // received again a minute later under receive-time: another ts, the same device time: the same reading
      Telemetry first = fleet.get(3).telemetry();
      Telemetry again = new Telemetry(first.deviceId(), first.seq(), first.ts().plusSeconds(60), first.site(), first.region(),
          first.status(), null, first.metrics(), first.attributes(), first.deviceTs(), true);
      assertThat(TestStore.writeAll(sink, List.of(new SinkRecord(again, new byte[100], "iotpipe.storage.p0", 0)), 1))
          .containsExactly(Outcome.DELIVERED);
    }
    try (StoreQuery q = new StoreQuery(dir.resolve("store"))) {
      assertThat(row(q, "SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry")).containsExactly(6L, 6L);
      assertThat(row(q, "SELECT attributes['fw'], attributes['connectorId'], attributes['plug'] FROM telemetry WHERE device_id = 'evc-gen2-001'"))
          .containsExactly("2.4.1", "2", "{\"type\":\"CCS2\",\"locked\":true}");
      assertThat(row(q, "SELECT count(*) FROM telemetry WHERE attributes['fw'] LIKE '3.%'")).containsExactly(2L);
      assertThat(row(q, "SELECT ts::VARCHAR, device_ts::VARCHAR, clock_ahead FROM telemetry WHERE device_id = 'evc-gen3-002'"))
          .containsExactly("2026-11-23 12:00:00+00", "2026-11-23 12:30:00+00", true);
      assertThat(row(q, "SELECT device_ts IS NULL, clock_ahead FROM telemetry WHERE device_id = 'evc-gen3-003'")).containsExactly(true, true);
      assertThat(row(q, "SELECT cardinality(attributes) IS NULL OR cardinality(attributes) = 0, clock_ahead FROM telemetry"
          + " WHERE device_id = 'evc-gen1-001'")).containsExactly(true, false);
      // three days late: in its own day partition
      assertThat(row(q, "SELECT date::VARCHAR, hour FROM telemetry WHERE device_id = 'evc-gen1-002'")).containsExactly("2026-11-20", "08");
    }
    try (var db = DriverManager.getConnection("jdbc:duckdb:"); var s = db.createStatement();
         var rs = s.executeQuery("SELECT attributes.fw, device_ts, clock_ahead FROM read_json('" + dir.resolve("store")
             + "/**/*.jsonl.gz') WHERE device_id = 'evc-gen3-002'")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("3.0.1");
      assertThat(rs.getString(2)).startsWith("2026-11-23");
      assertThat(rs.getBoolean(3)).isTrue();
    }
  }

  @Test
  void compactionKeepsTheContractsColumnsAndReadsFilesWrittenBeforeThem() throws Exception {
    Path store = dir.resolve("store");
    StorageConfig cfg = TestStore.config(store, "parquet", true);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      for (SinkRecord r : fleet()) {
        TestStore.writeAll(sink, List.of(r), 1); // a file each: something to merge
      }
    }
    String digest = "SELECT count(*), string_agg(attributes['fw'], ',' ORDER BY device_id), count(device_ts), count(*) FILTER (WHERE clock_ahead)"
        + " FROM telemetry";
    List<Object> before;
    try (StoreQuery q = new StoreQuery(store)) {
      before = row(q, digest);
    }
    assertThat(before).containsExactly(6L, "2.4.1,3.0.0,3.0.1", 1L, 2L);
    Compactor.compact(store, cfg.metrics(), Duration.ZERO, Clock.systemUTC());
    try (StoreQuery q = new StoreQuery(store)) {
      assertThat(row(q, digest)).isEqualTo(before);
    }
    // a Parquet file as the store wrote it before attributes, device_ts and clock_ahead existed
    Path old = dir.resolve("old.parquet");
    try (var db = DriverManager.getConnection("jdbc:duckdb:"); var s = db.createStatement()) {
      s.execute("COPY (SELECT TIMESTAMPTZ '2026-11-20 10:00:00+00' AS ts, 'dev-old' AS device_id, 3::BIGINT AS seq, NULL::VARCHAR AS site,"
          + " NULL::VARCHAR AS region, NULL::VARCHAR AS status, NULL::VARCHAR AS error_code, 1.5::DOUBLE AS powerKw, NULL::DOUBLE AS soc,"
          + " MAP {'x': 2.0} AS extra_metrics, TIMESTAMPTZ '2026-11-20 10:00:01+00' AS ingest_ts) TO '" + old + "' (FORMAT PARQUET)");
      String list = Compactor.fileList(List.of(old));
      try (var rs = s.executeQuery("SELECT " + Compactor.rowColumns(s, list, cfg.metrics()) + " FROM read_parquet([" + list + "], union_by_name = true)")) {
        Telemetry t = new Compactor.RowIterator(rs, cfg.metrics()).next();
        assertThat(t.id()).isEqualTo("dev-old:3");
        assertThat(t.metrics()).containsEntry("powerKw", 1.5).containsEntry("x", 2.0);
        assertThat(t.attributes()).isEmpty();
        assertThat(t.deviceTs()).isNull();
        assertThat(t.clockAhead()).isFalse();
      }
    }
  }
}
