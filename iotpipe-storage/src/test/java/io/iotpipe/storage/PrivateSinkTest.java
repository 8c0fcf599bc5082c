package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.PrivateSink;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pseudonymised store: no raw device id in any byte of any file, the same pseudonym across files and restarts. */
class PrivateSinkTest {

  static final String KEY = "k3y-for-tests-only-0123456789abcdef0123456789";

  static StorageConfig config(Path store) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        storage:
          dir: %s
          formats: [parquet, jsonl]
          rollAge: 1h
          metrics: [powerKw, soc]
          compaction: {enabled: false}
          privacy:
            key: ${IOTPIPE_PSEUDONYM_KEY}
            columns: {deviceId: pseudonymise, site: drop}
        """.formatted(store), k -> k.equals("IOTPIPE_PSEUDONYM_KEY") ? KEY : null).storage();
  }

  static List<Outcome> write(PrivateSink sink, List<SinkRecord> batch) {
    CompletableFuture<List<Outcome>> f = sink.write(batch).toCompletableFuture();
    sink.flush();
    return f.join();
  }

  @Test
  void noRawDeviceIdInAnyFileAndTheSamePseudonymAfterARestart(@TempDir Path store) throws Exception {
    StorageConfig cfg = config(store);
    List<SinkRecord> first = new ArrayList<>();
    for (int s = 1; s <= 20; s++) {
      first.add(TestStore.reading("iotpipe.storage.p0", "charger-berlin-0042", s, 7.0 + s));
      first.add(TestStore.reading("iotpipe.storage.p1", "charger-paris-0007", s, 3.0 + s));
    }
    try (PrivateSink sink = new PrivateSink(new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry()), cfg.privacy())) {
      assertThat(write(sink, first)).containsOnly(Outcome.DELIVERED);
      assertThat(write(sink, first.subList(0, 5))).as("redeliveries recognised on the pseudonym").containsOnly(Outcome.DELIVERED);
    }
    try (PrivateSink again = new PrivateSink(new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry()), cfg.privacy())) {
      assertThat(write(again, List.of(TestStore.reading("iotpipe.storage.p0", "charger-berlin-0042", 21, 9.9))))
          .containsOnly(Outcome.DELIVERED);
    }

    // Every byte the store wrote: data files, commit log, checkpoints.
    List<Path> files;
    try (Stream<Path> all = Files.walk(store)) {
      files = all.filter(Files::isRegularFile).toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      byte[] bytes = Files.readAllBytes(f);
      String text = new String(bytes, StandardCharsets.ISO_8859_1);
      assertThat(text).as(f.toString()).doesNotContain("charger-berlin", "charger-paris", "site-1", KEY);
      if (f.toString().endsWith(".gz")) {
        String unzipped = new String(new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(bytes)).readAllBytes(),
            StandardCharsets.UTF_8);
        assertThat(unzipped).as(f.toString()).doesNotContain("charger-berlin", "charger-paris", "site-1");
      }
    }

    try (StoreQuery q = new StoreQuery(store); Statement st = q.connection().createStatement();
         ResultSet rs = st.executeQuery("SELECT device_id, count(*), count(DISTINCT seq), count(site) FROM telemetry GROUP BY ALL ORDER BY 1")) {
      Map<String, Long> rows = new java.util.TreeMap<>();
      while (rs.next()) {
        assertThat(rs.getString(1)).matches("p-[0-9a-f]{32}");
        assertThat(rs.getLong(2)).as("no duplicates").isEqualTo(rs.getLong(3));
        assertThat(rs.getLong(4)).as("site dropped").isZero();
        rows.put(rs.getString(1), rs.getLong(2));
      }
      assertThat(rows.values()).as("one pseudonym per device, kept across the restart").containsExactlyInAnyOrder(21L, 20L);
    }
  }

  @Test
  void pseudonymisingWithoutAKeyIsAConfigError() {
    var e = org.assertj.core.api.Assertions.catchThrowable(() -> IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        storage:
          privacy:
            columns: {deviceId: pseudonymise}
        """, k -> null));
    assertThat(e).hasMessageContaining("storage.privacy.key").hasMessageContaining("IOTPIPE_PSEUDONYM_KEY");
  }

  @Test
  void attributesAreDroppedOrPseudonymisedLikeAnyOtherColumn(@TempDir Path dir) throws Exception {
    for (String action : List.of("drop", "pseudonymise")) {
      Path store = dir.resolve(action);
      StorageConfig cfg = IotpipeConfig.parse("test", """
          brokers:
            edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
            cloud: {uris: [amqp://127.0.0.1:5673]}
          topology: {edges: [edge], balancer: cloud}
          storage:
            dir: %s
            formats: [parquet, jsonl]
            compaction: {enabled: false}
            privacy:
              key: ${IOTPIPE_PSEUDONYM_KEY}
              columns: {attributes: %s}
          """.formatted(store, action), k -> k.equals("IOTPIPE_PSEUDONYM_KEY") ? KEY : null).storage();
      var t = TestStore.reading("iotpipe.storage.p0", "evc-1", 1, 7.0).telemetry()
          .withAttributes(Map.of("meterSerial", "MTR-SECRET-99812", "cardId", "CARD-SECRET-0042"));
      try (PrivateSink sink = new PrivateSink(new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry()), cfg.privacy())) {
        SinkRecord r = new SinkRecord(t, new byte[0], "iotpipe.storage.p0", 0);
        assertThat(write(sink, List.of(r))).containsOnly(Outcome.DELIVERED);
        assertThat(write(sink, List.of(r))).as("a redelivery is recognised").containsOnly(Outcome.DELIVERED);
      }
      try (Stream<Path> all = Files.walk(store)) {
        for (Path f : all.filter(Files::isRegularFile).toList()) {
          byte[] bytes = Files.readAllBytes(f);
          String text = f.toString().endsWith(".gz")
              ? new String(new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(bytes)).readAllBytes(), StandardCharsets.UTF_8)
              : new String(bytes, StandardCharsets.ISO_8859_1);
          assertThat(text).as(action + ": " + f).doesNotContain("SECRET");
        }
      }
      try (StoreQuery q = new StoreQuery(store); Statement st = q.connection().createStatement();
           ResultSet rs = st.executeQuery("SELECT count(*), attributes['meterSerial'] FROM telemetry GROUP BY ALL")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(1);
        if (action.equals("drop")) {
          assertThat(rs.getString(2)).isNull();
        } else {
          assertThat(rs.getString(2)).matches("p-[0-9a-f]{32}");
        }
      }
    }
  }
}
