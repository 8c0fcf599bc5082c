package io.iotpipe.elasticsearch;

import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.config;
import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.count;
import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.get;
import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.prefix;
import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.send;
import static io.iotpipe.elasticsearch.ElasticsearchSinkIT.write;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract's decisions in a real OpenSearch: attributes searchable without one mapping field per name (also in an
 * index that existed before they did), the device's time and the clock flag, late readings in their own day, and a
 * reading received twice under {@code receive-time} indexed once.
 */
class ContractDocumentsIT {

  @TempDir
  static Path dir;

  @BeforeAll
  static void start() {
    ElasticsearchSinkIT.os = EmbeddedOpenSearch.start(dir);
  }

  @AfterAll
  static void stop() {
    ElasticsearchSinkIT.os.close();
  }

  static SinkRecord record(Telemetry t) {
    return new SinkRecord(t, new byte[0], "q", 0);
  }

  @Test
  void attributesAreSearchableWithoutGrowingTheMappingAndEveryReadingLandsOnce() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    Instant today = Instant.parse("2026-11-23T11:00:00Z");
    // an index of today created before the contract's fields existed (the previous release's template)
    assertThat(send("PUT", "/" + prefix + "-2026.11.23", """
        {"mappings":{"properties":{"ts":{"type":"date"},"deviceId":{"type":"keyword"},"seq":{"type":"long"}}}}""").status()).isEqualTo(200);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, registry)) {
      sink.prepare(Duration.ofSeconds(60));
      List<SinkRecord> batch = new ArrayList<>();
      // 3 generations: none, fw 2 with top-level extras, fw 3 with 40 different vendor names between them
      for (int i = 1; i <= 40; i++) {
        batch.add(record(new Telemetry("gen1-" + i, 1, today.plusSeconds(i), "s", "eu-west", "CHARGING", null, Map.of("powerKw", 7.0))));
        batch.add(record(new Telemetry("gen2-" + i, 1, today.plusSeconds(i), "s", "eu-west", "CHARGING", null, Map.of("powerKw", 7.0),
            Map.of("fw", "2.4.1", "connectorId", Integer.toString(i % 2 + 1)), null, false)));
        batch.add(record(new Telemetry("gen3-" + i, 1, today.plusSeconds(i), "s", "eu-west", "CHARGING", null, Map.of("powerKw", 7.0),
            Map.of("fw", "3.0.0", "vendorField" + i, "v" + i), null, false)));
      }
      Telemetry received = new Telemetry("ahead-1", 9, today.plusSeconds(100), null, null, null, null, Map.of(), Map.of(),
          today.plus(Duration.ofMinutes(31)), true);
      Telemetry late = new Telemetry("back-online", 3, Instant.parse("2026-11-20T06:00:00Z"), null, null, null, null, Map.of("soc", 80.0));
      batch.add(record(received));
      batch.add(record(late));
      deliver(sink, batch);
      // the receive-time reading arrives again (a crash before the ack): a new receive time, the same device time
      Telemetry again = new Telemetry("ahead-1", 9, today.plusSeconds(160), null, null, null, null, Map.of(), Map.of(),
          received.deviceTs(), true);
      deliver(sink, List.of(record(again)));
      assertThat(registry.get("iotpipe.es.conflicts").tag("result", "same-content").counter().count()).isGreaterThanOrEqualTo(1);
      assertThat(registry.get("iotpipe.es.conflicts").tag("result", "different-content").counter().count()).isZero();

      assertThat(count(prefix + "-2026.11.23")).isEqualTo(121);
      assertThat(count(prefix + "-2026.11.20")).as("three days late, in its own day").isEqualTo(1);
      JsonNode hits = search(prefix + "-2*", "{\"query\":{\"term\":{\"attributes.fw\":\"2.4.1\"}},\"size\":0,\"track_total_hits\":true}");
      assertThat(hits.path("hits").path("total").path("value").asLong()).isEqualTo(40);
      assertThat(search(prefix + "-2*", "{\"query\":{\"term\":{\"attributes.vendorField7\":\"v7\"}}}").path("hits").path("hits").get(0)
          .path("_id").asText()).isEqualTo("gen3-7:1");
      JsonNode doc = get("/" + prefix + "-2026.11.23/_doc/ahead-1:9").path("_source");
      assertThat(doc.path("deviceTs").asText()).isEqualTo("2026-11-23T11:31:00Z");
      assertThat(doc.path("ts").asText()).as("the first receive time kept").isEqualTo("2026-11-23T11:01:40Z");
      assertThat(doc.path("clockAhead").asBoolean()).isTrue();
      assertThat(search(prefix + "-2*", "{\"query\":{\"term\":{\"clockAhead\":true}}}").path("hits").path("total").path("value").asLong())
          .isEqualTo(1);

      // one mapping field for attributes whatever the names, in the index that existed before and in the template's
      for (String index : List.of(prefix + "-2026.11.23", prefix + "-2026.11.20", cfg.latestIndex())) {
        JsonNode props = get("/" + index + "/_mapping").path(index).path("mappings").path("properties");
        assertThat(props.path("attributes").path("type").asText()).as(index).isEqualTo("flat_object");
        assertThat(props.path("deviceTs").path("type").asText()).as(index).isEqualTo("date");
        assertThat(fieldNames(props)).as(index).noneMatch(f -> f.contains("vendorField"));
      }
    }
  }

  /**
   * Writes until every record is delivered, offering the ones answered {@code Retry} again as the runtime does (on a
   * busy machine a bulk that creates indices can outlast the request timeout); a {@code Reject} fails the test.
   */
  @SuppressWarnings("unchecked")
  private static void deliver(ElasticsearchSink sink, List<SinkRecord> batch) {
    List<SinkRecord>[] pending = new List[] {batch};
    Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(500)).until(() -> {
      List<Outcome> out = write(sink, pending[0]);
      assertThat(out).hasSameSizeAs(pending[0]).noneMatch(o -> o instanceof Outcome.Reject);
      List<SinkRecord> again = new ArrayList<>();
      for (int i = 0; i < out.size(); i++) {
        if (out.get(i) != Outcome.DELIVERED) {
          again.add(pending[0].get(i));
        }
      }
      pending[0] = again;
      return again.isEmpty();
    });
  }

  private static JsonNode search(String index, String query) throws Exception {
    get("/" + index + "/_refresh");
    return ElasticsearchSinkIT.JSON.readTree(send("POST", "/" + index + "/_search", query).body());
  }

  private static List<String> fieldNames(JsonNode props) {
    List<String> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
      var e = it.next();
      out.add(e.getKey());
      out.addAll(fieldNames(e.getValue().path("properties")).stream().map(n -> e.getKey() + "." + n).toList());
    }
    return out;
  }
}
