package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.sink.Outcome;
import io.iotpipe.core.sink.SinkRecord;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search sink against a real OpenSearch node. */
class ElasticsearchSinkIT {

  @TempDir
  static Path dir;
  static EmbeddedOpenSearch os;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() {
    os = EmbeddedOpenSearch.start(dir);
  }

  @AfterAll
  static void stop() {
    os.close();
  }

  static IndexerConfig config(String prefix) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        indexer:
          urls: [%s]
          indexPrefix: %s
          maxInFlight: 2
          requestTimeout: 5s
        """.formatted(os.httpUri(), prefix), k -> null).indexer();
  }

  static List<SinkRecord> records(String device, long fromSeq, int n, Instant ts) {
    List<SinkRecord> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SinkRecord(new Telemetry(device, fromSeq + i, ts.plusSeconds(i), "site-1", "eu-west", "CHARGING", null,
          Map.of("powerKw", 11.0 + i % 7, "soc", 50.0)), new byte[0], "q", 0));
    }
    return out;
  }

  static JsonNode get(String path) throws Exception {
    EsClient c = new EsClient(List.of(os.httpUri()), null, null, java.time.Duration.ofSeconds(10));
    return JSON.readTree(c.sendSync("GET", path, null).body());
  }

  static long count(String index) throws Exception {
    get("/" + index + "/_refresh");
    return get("/" + index + "/_count").path("count").asLong();
  }

  @Test
  void tenThousandRecordsBecomeTenThousandDocumentsAndRewritesDoNotDuplicate() throws Exception {
    String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);
    try (ElasticsearchSink sink = new ElasticsearchSink(config(prefix), new SimpleMeterRegistry())) {
      List<List<SinkRecord>> batches = new ArrayList<>();
      for (int d = 0; d < 10; d++) {
        for (int b = 0; b < 10; b++) {
          batches.add(records("dev-" + d, b * 100L + 1, 100, Instant.parse("2026-11-20T10:00:00Z")));
        }
      }
      for (List<SinkRecord> batch : batches) {
        assertThat(sink.write(batch).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      }
      assertThat(count(prefix + "-2*")).isEqualTo(10_000);
      // A redelivery of everything (e.g. after a crash before the acks) overwrites the same ids.
      for (List<SinkRecord> batch : batches.subList(0, 20)) {
        assertThat(sink.write(batch).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      }
      assertThat(count(prefix + "-2*")).isEqualTo(10_000);
      JsonNode mapping = get("/" + prefix + "-2026.11.20/_mapping");
      JsonNode props = mapping.path(prefix + "-2026.11.20").path("mappings").path("properties");
      assertThat(props.path("ts").path("type").asText()).isEqualTo("date");
      assertThat(props.path("deviceId").path("type").asText()).isEqualTo("keyword");
      assertThat(props.path("metrics").path("properties").path("powerKw").path("type").asText()).isEqualTo("double");
    }
  }

  @Test
  void latestStateKeepsTheHighestSeqWhenBatchesArriveOutOfOrder() throws Exception {
    String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      Instant ts = Instant.parse("2026-11-20T10:00:00Z");
      assertThat(sink.write(records("late-dev", 41, 10, ts)).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      // Older readings arrive afterwards (redelivery, a device that buffered): they are indexed as events...
      assertThat(sink.write(records("late-dev", 1, 20, ts)).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      get("/" + cfg.latestIndex() + "/_refresh");
      // ...but the device's latest state stays at seq 50.
      assertThat(get("/" + cfg.latestIndex() + "/_doc/late-dev").path("_source").path("seq").asLong()).isEqualTo(50);
      assertThat(count(prefix + "-2*")).isEqualTo(30);
    }
  }

  @Test
  void aMappingConflictRejectsOnlyTheBadDocumentWithTheEnginesReason() throws Exception {
    String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      sink.prepare();
      // Someone created one day's index by hand with strict metrics: documents of that day cannot be indexed.
      EsClient c = new EsClient(List.of(os.httpUri()), null, null, java.time.Duration.ofSeconds(10));
      assertThat(c.sendSync("PUT", "/" + prefix + "-2020.01.01",
          "{\"mappings\":{\"properties\":{\"metrics\":{\"type\":\"object\",\"dynamic\":\"strict\"}}}}").status()).isEqualTo(200);
      List<SinkRecord> batch = new ArrayList<>(records("good", 1, 5, Instant.parse("2026-11-20T10:00:00Z")));
      batch.add(2, records("bad", 1, 1, Instant.parse("2020-01-01T10:00:00Z")).get(0));
      List<Outcome> out = sink.write(batch).toCompletableFuture().join();
      assertThat(out.get(2)).isInstanceOfSatisfying(Outcome.Reject.class,
          r -> assertThat(r.reason()).contains("strict_dynamic_mapping_exception").contains("rejected by the search engine"));
      assertThat(out).filteredOn(o -> o == Outcome.DELIVERED).hasSize(5);
    }
  }

  @Test
  void anOutageGivesRetriesAndTheSameSinkRecoversWhenTheEngineIsBack() throws Exception {
    String prefix = "t" + UUID.randomUUID().toString().substring(0, 8);
    try (ElasticsearchSink sink = new ElasticsearchSink(config(prefix), new SimpleMeterRegistry())) {
      List<SinkRecord> batch = records("dev", 1, 50, Instant.parse("2026-11-20T10:00:00Z"));
      assertThat(sink.write(batch).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      os.stop();
      List<Outcome> down = sink.write(records("dev", 51, 50, Instant.parse("2026-11-20T10:00:00Z"))).toCompletableFuture().join();
      assertThat(down).hasSize(50).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("unreachable")));
      os.start();
      assertThat(sink.write(records("dev", 51, 50, Instant.parse("2026-11-20T10:00:00Z"))).toCompletableFuture().join())
          .containsOnly(Outcome.DELIVERED);
      assertThat(count(prefix + "-2*")).isEqualTo(100);
    }
  }
}
