package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.sink.StandaloneSinkContext;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code storage.privacy} in the lake, as the plugin builds the sink: on a real S3 API server (s3proxy) with a SQLite
 * catalog, no byte the lake wrote (data files, metadata, its state files, the catalog) holds a raw device id, a
 * dropped site or the key; the table's device ids are pseudonyms, the same after a restart, every reading once.
 */
class LakePrivacyIT {

  static final String KEY = "k3y-for-lake-tests-only-0123456789abcdef0123";

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

  IotpipeConfig config(String table) {
    LakeCatalog c = lake.settings();
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud, sinks: [lake]}
        storage:
          metrics: [powerKw, energyKwh, soc]
          privacy:
            key: ${IOTPIPE_PSEUDONYM_KEY}
            columns: {deviceId: pseudonymise, site: drop}
        lake:
          catalog: {uri: "%s"}
          warehouse: %s
          s3: {endpoint: "%s", accessKey: "${K}", secretKey: "${S}"}
          table: %s
        """.formatted(c.catalogUri(), c.warehouse(), c.s3Endpoint(), table),
        k -> switch (k) {
          case "IOTPIPE_PSEUDONYM_KEY" -> KEY;
          case "K" -> c.accessKey();
          case "S" -> c.secretKey();
          default -> null;
        });
  }

  static List<Outcome> writeAndCommit(Sink sink, List<SinkRecord> batch) {
    CompletableFuture<List<Outcome>> f = sink.write(batch).toCompletableFuture();
    sink.commit();
    return f.join();
  }

  @Test
  void theTableHoldsPseudonymsOnlyTheSameAcrossARestartEachReadingOnce() throws Exception {
    String table = "telemetry.private_" + Long.toHexString(System.nanoTime());
    IotpipeConfig cfg = config(table);
    List<SinkRecord> readings = new ArrayList<>(LakeFixture.readings("iotpipe.lake.p0", "charger-berlin-", 3, 10));
    readings.addAll(LakeFixture.readings("iotpipe.lake.p1", "charger-paris-", 2, 10));
    LakePlugin plugin = new LakePlugin();
    try (StandaloneSinkContext ctx = ctx(cfg); Sink sink = plugin.create(cfg, ctx)) {
      assertThat(writeAndCommit(sink, readings)).containsOnly(Outcome.DELIVERED);
      assertThat(writeAndCommit(sink, readings.subList(0, 5))).as("redeliveries recognised on the pseudonym").containsOnly(Outcome.DELIVERED);
    }
    SinkRecord later = LakeFixture.readings("iotpipe.lake.p0", "charger-berlin-", 1, 11).get(10);
    try (StandaloneSinkContext ctx = ctx(cfg); Sink again = plugin.create(cfg, ctx)) {
      assertThat(writeAndCommit(again, List.of(later))).containsOnly(Outcome.DELIVERED);
    }

    // The rows: pseudonyms only, one per device across the restart, every reading once, the site dropped.
    LakeSection.Settings s = cfg.section(LakeSection.SECTION);
    Table t = s.catalog().open().loadTable(TableIdentifier.parse(s.table()));
    Map<String, Integer> keys = new HashMap<>();
    Map<String, Long> rowsPerDevice = new HashMap<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(t).build()) {
      for (Record r : rows) {
        String device = (String) r.getField("device_id");
        assertThat(device).matches("p-[0-9a-f]{32}");
        assertThat(r.getField("site")).isNull();
        keys.merge(device + ":" + r.getField("seq"), 1, Integer::sum);
        rowsPerDevice.merge(device, 1L, Long::sum);
      }
    }
    assertThat(keys).hasSize(readings.size() + 1);
    assertThat(keys.values()).containsOnly(1);
    assertThat(rowsPerDevice).as("5 devices; charger-berlin-0's reading after the restart under its pseudonym of before")
        .hasSize(5).containsValue(11L);

    // Every byte the lake wrote: the object store's files (data, manifests, metadata, state) and the catalog.
    List<Path> files;
    try (Stream<Path> all = Stream.concat(Files.walk(lake.s3.blobs().resolve(lake.bucket)), Stream.of(dir.resolve("catalog.db")))) {
      files = all.filter(Files::isRegularFile).toList();
    }
    assertThat(files).hasSizeGreaterThan(5);
    for (Path f : files) {
      String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
      assertThat(text).as(f.toString()).doesNotContain("charger-berlin", "charger-paris", "site-a", KEY);
    }
  }

  private static StandaloneSinkContext ctx(IotpipeConfig cfg) {
    // no commit clock: the test commits itself
    return new StandaloneSinkContext("test", new SimpleMeterRegistry(), Clock.systemUTC(), cfg.section(LakeSection.SECTION).consumer(), 1, Duration.ZERO);
  }
}
