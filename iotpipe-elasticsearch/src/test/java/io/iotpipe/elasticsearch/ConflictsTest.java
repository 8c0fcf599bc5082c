package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig.IndexPeriod;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Create conflicts decided from real responses of OpenSearch 3.8 and Elasticsearch 8.19 to the same requests (see
 * src/test/resources/recorded/&#42;/README.txt).
 */
class ConflictsTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Telemetry FIRST = new Telemetry("cp-1", 1, Instant.parse("2026-11-20T10:00:01Z"), "site-1", "eu-west", "CHARGING",
      null, Map.of("powerKw", 7.0, "soc", 50.0));
  static final Telemetry OTHER = new Telemetry("cp-1", 1, FIRST.ts(), "site-1", "eu-west", "CHARGING", null,
      Map.of("powerKw", 99.0, "soc", 50.0));
  static final Telemetry SECOND = new Telemetry("cp-1", 2, Instant.parse("2026-11-20T10:00:02Z"), "site-1", "eu-west", "CHARGING",
      null, Map.of("powerKw", 7.0, "soc", 50.0));

  static EsClient.Response recorded(String engine, String name) throws IOException {
    try (InputStream in = ConflictsTest.class.getResourceAsStream("/recorded/" + engine + "/" + name)) {
      return new EsClient.Response(200, in.readAllBytes());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"opensearch-3.8", "elasticsearch-8.19"})
  void theRecordedBulkSeparatesConflictsFromSuccessesAndAStaleLatestState(String engine) throws Exception {
    // Events: cp-1:1 with other content (409), cp-1:2 (201), cp-1:1 again with the first content (409);
    // latest state: cp-1 v1 (409, not newer: fine) for record 2, cp-2 v2 (201) for record 1.
    ElasticsearchSink.Verdict v = ElasticsearchSink.outcomes(3, List.of(2, 1), recorded(engine, "bulk-conflicts.json"), null);
    assertThat(v.conflicts()).containsExactly(0, 2);
    assertThat(v.requestFailure()).isNull();
    assertThat(v.resolve(List.of(Outcome.reject("x"), Outcome.DELIVERED))).containsExactly(Outcome.reject("x"), Outcome.DELIVERED,
        Outcome.DELIVERED);
    assertThat(ElasticsearchSink.errorsFlag(recorded(engine, "bulk-conflicts.json").body())).isTrue();
    assertThat(ElasticsearchSink.errorsFlag(recorded(engine, "bulk-first.json").body())).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"opensearch-3.8", "elasticsearch-8.19"})
  void theRecordedMgetDecidesRedeliveryDifferenceAndWhatCannotBeDecidedYet(String engine) throws Exception {
    List<Outcome> out = Conflicts.resolve(List.of(OTHER, SECOND, FIRST), recorded(engine, "mget.json"), null, EsClient::describe);
    assertThat(out.get(0)).isEqualTo(Outcome.reject(
        "(deviceId cp-1, seq 1) already indexed with different content; kept the first (they differ in metrics.powerKw)"));
    assertThat(out.get(1)).isInstanceOfSatisfying(Outcome.Retry.class, r -> assertThat(r.reason()).contains("no longer stored"));
    assertThat(out.get(2)).isInstanceOfSatisfying(Outcome.Retry.class,
        r -> assertThat(r.reason()).contains("could not be fetched").contains("no such index"));
    List<Outcome> same = Conflicts.resolve(List.of(FIRST, SECOND, FIRST), recorded(engine, "mget.json"), null, EsClient::describe);
    assertThat(same.get(0)).as("the stored document differs only in ingestTs").isEqualTo(Outcome.DELIVERED);
  }

  @Test
  void aFailedFetchRetriesEveryConflict() {
    assertThat(Conflicts.resolve(List.of(FIRST, OTHER), null, new ConnectException(), EsClient::describe))
        .hasSize(2).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
            r -> assertThat(r.reason()).contains("connection refused")));
    assertThat(Conflicts.resolve(List.of(FIRST), new EsClient.Response(503, new byte[0]), null, EsClient::describe).get(0))
        .isInstanceOf(Outcome.Retry.class);
    assertThat(Conflicts.resolve(List.of(FIRST, OTHER), new EsClient.Response(200, "{\"docs\":[]}".getBytes()), null,
        EsClient::describe)).allSatisfy(o -> assertThat(o).isInstanceOf(Outcome.Retry.class));
  }

  @Test
  void theFetchAsksForEachConflictInItsEventIndex() throws Exception {
    JsonNode body = JSON.readTree(Conflicts.mgetBody(new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest"), List.of(FIRST, SECOND)));
    assertThat(body.path("docs").get(0).path("_index").asText()).isEqualTo("ev-2026.11.20");
    assertThat(body.path("docs").get(0).path("_id").asText()).isEqualTo("cp-1:1");
    assertThat(body.path("docs").get(1).path("_id").asText()).isEqualTo("cp-1:2");
  }
}
