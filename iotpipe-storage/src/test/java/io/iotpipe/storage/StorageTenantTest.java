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
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tenant column of the data scientists' files: written, kept by compaction, read back, pseudonymised on request. */
class StorageTenantTest {

  @TempDir
  Path dir;

  static List<SinkRecord> fleet() {
    List<SinkRecord> out = new ArrayList<>();
    for (int s = 1; s <= 3; s++) {
      for (String[] d : new String[][] {{"evc-a1", "acme"}, {"evc-b1", "globex"}, {"evc-n1", null}}) {
        SinkRecord r = TestStore.reading("iotpipe.storage.p0", d[0], s, 7.0 + s);
        out.add(new SinkRecord(r.telemetry().withTenant(d[1]), r.body(), r.source(), r.publishedAt()));
      }
    }
    return out;
  }

  @Test
  void everyRowCarriesItsDevicesTenantAlsoAfterCompaction() throws Exception {
    Path store = dir.resolve("store");
    StorageConfig cfg = TestStore.config(store, "parquet, jsonl", true);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      for (SinkRecord r : fleet()) {
        assertThat(TestStore.writeAll(sink, List.of(r), 1)).containsOnly(Outcome.DELIVERED); // a file each: something to merge
      }
    }
    String perTenant = "SELECT string_agg(coalesce(tenant, '-') || ':' || n, ',' ORDER BY tenant NULLS LAST) FROM"
        + " (SELECT tenant, count(*) AS n FROM telemetry GROUP BY tenant)";
    try (StoreQuery q = new StoreQuery(store)) {
      assertThat(q.query(perTenant).rows().getFirst()).containsExactly("acme:3,globex:3,-:3");
    }
    Compactor.compact(store, cfg.metrics(), Duration.ZERO, Clock.systemUTC());
    try (StoreQuery q = new StoreQuery(store)) {
      assertThat(q.query(perTenant).rows().getFirst()).as("after compaction").containsExactly("acme:3,globex:3,-:3");
    }
  }

  @Test
  void theTenantIsPseudonymisedLikeTheDeviceIdWhenPrivacyAsks() throws Exception {
    Path store = dir.resolve("private");
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
            columns: {deviceId: pseudonymise, tenant: pseudonymise}
        """.formatted(store), k -> k.equals("IOTPIPE_PSEUDONYM_KEY") ? PrivateSinkTest.KEY : null).storage();
    try (PrivateSink sink = new PrivateSink(new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry()), cfg.privacy())) {
      assertThat(PrivateSinkTest.write(sink, fleet())).containsOnly(Outcome.DELIVERED);
    }
    try (Stream<Path> all = Files.walk(store)) {
      for (Path f : all.filter(Files::isRegularFile).toList()) {
        String bytes = new String(f.toString().endsWith(".gz")
            ? new java.util.zip.GZIPInputStream(Files.newInputStream(f)).readAllBytes() : Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
        assertThat(bytes).as(f.toString()).doesNotContain("acme").doesNotContain("globex");
      }
    }
    try (StoreQuery q = new StoreQuery(store)) {
      assertThat(q.query("SELECT count(DISTINCT tenant), count(*) FILTER (WHERE tenant LIKE 'p-%'), count(*) FILTER (WHERE tenant IS NULL)"
          + " FROM telemetry").rows().getFirst()).as("two tenants, two pseudonyms, one per tenant; none stays none").containsExactly(2L, 6L, 3L);
    }
  }
}
