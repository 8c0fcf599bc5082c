package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.Outcome;
import java.net.ConnectException;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Outcome classification from canned {@code _bulk} responses (shapes as Elasticsearch 8 and OpenSearch 3 send them). */
class BulkOutcomesTest {

  static EsClient.Response ok(String json) {
    return new EsClient.Response(200, json.getBytes(StandardCharsets.UTF_8));
  }

  static String item(int status, String errorType, String reason) {
    String error = errorType == null ? "" : """
        ,"error":{"type":"%s","reason":"%s","caused_by":{"type":"illegal_argument_exception","reason":"inner"}}""".formatted(errorType, reason);
    return """
        {"index":{"_index":"ev-2026.01.01","_id":"x","status":%d%s}}""".formatted(status, error);
  }

  static List<Outcome> outcomes(int n, List<Integer> latestIdx, EsClient.Response resp, Throwable err) {
    return ElasticsearchSink.outcomes(n, latestIdx, resp, err).outcomes();
  }

  static EsClient.Response bulk(String... items) {
    return ok("{\"took\":3,\"errors\":true,\"items\":[" + String.join(",", items) + "]}");
  }

  @Test
  void errorsFalseDeliversEverythingWithoutReadingItems() {
    assertThat(outcomes(3, List.of(2), ok("{\"took\":1,\"errors\":false,\"items\":[]}"), null))
        .containsExactly(Outcome.DELIVERED, Outcome.DELIVERED, Outcome.DELIVERED);
  }

  @Test
  void eachItemIsClassifiedOnItsOwn() {
    List<Outcome> out = outcomes(6, List.of(), bulk(
        item(201, null, null),
        item(400, "mapper_parsing_exception", "failed to parse field [metrics.powerKw] of type [double]"),
        item(429, "es_rejected_execution_exception", "rejected execution of coordinating operation"),
        item(503, "unavailable_shards_exception", "primary shard is not active"),
        item(400, "document_parsing_exception", "[1:20] failed to parse field [status] of type [long]"),
        item(200, null, null)), null);
    assertThat(out.get(0)).isEqualTo(Outcome.DELIVERED);
    assertThat(out.get(1)).isEqualTo(Outcome.reject(
        "mapper_parsing_exception: failed to parse field [metrics.powerKw] of type [double] (caused by illegal_argument_exception: inner)"));
    assertThat(out.get(2)).isInstanceOfSatisfying(Outcome.Retry.class,
        r -> assertThat(r.reason()).contains("429").contains("es_rejected_execution_exception"));
    assertThat(out.get(3)).isInstanceOf(Outcome.Retry.class);
    assertThat(out.get(4)).isInstanceOfSatisfying(Outcome.Reject.class,
        r -> assertThat(r.reason()).startsWith("document_parsing_exception: [1:20] failed to parse field [status]"));
    assertThat(out.get(5)).isEqualTo(Outcome.DELIVERED);
  }

  @Test
  void environmentFaultsReportedWithAnyStatusAreRetriedNotDeadLettered() {
    List<Outcome> out = outcomes(3, List.of(), bulk(
        item(403, "cluster_block_exception", "index [ev] blocked by: [FORBIDDEN/8/index write (api)]"),
        item(404, "index_not_found_exception", "no such index [ev-2026.01.01]"),
        item(400, "circuit_breaking_exception", "[parent] Data too large")), null);
    assertThat(out).allSatisfy(o -> assertThat(o).isInstanceOf(Outcome.Retry.class));
  }

  @Test
  void aStaleLatestStateIsSuccessButAFailedOneRedoesItsRecord() {
    // Records 0..2; latest-state items follow for records 1 and 2.
    List<Outcome> out = outcomes(3, List.of(1, 2), bulk(
        item(201, null, null), item(201, null, null), item(201, null, null),
        item(409, "version_conflict_engine_exception", "[cp-1]: version conflict, current version [9] is higher"),
        item(429, "es_rejected_execution_exception", "queue full")), null);
    assertThat(out.get(0)).isEqualTo(Outcome.DELIVERED);
    assertThat(out.get(1)).isEqualTo(Outcome.DELIVERED);
    assertThat(out.get(2)).isInstanceOf(Outcome.Retry.class);
  }

  @Test
  void aVersionConflictOnTheEventIndexIsCheckedNotMistakenForSuccess() {
    ElasticsearchSink.Verdict v = ElasticsearchSink.outcomes(2, List.of(), bulk(item(201, null, null),
        item(409, "version_conflict_engine_exception", "[d:1]: version conflict, document already exists (current version [1])")), null);
    assertThat(v.conflicts()).containsExactly(1);
    assertThat(v.outcomes().get(1)).isInstanceOf(Outcome.Retry.class);
    assertThat(v.resolve(List.of(Outcome.DELIVERED))).containsExactly(Outcome.DELIVERED, Outcome.DELIVERED);
    assertThat(v.requestFailure()).isNull();
  }

  @Test
  void aRedeliveryWhoseLatestStateFailedIsRedoneEvenThoughItsEventExists() {
    ElasticsearchSink.Verdict v = ElasticsearchSink.outcomes(1, List.of(0), bulk(
        item(409, "version_conflict_engine_exception", "exists"), item(429, "es_rejected_execution_exception", "queue full")), null);
    assertThat(v.resolve(List.of(Outcome.DELIVERED)).get(0)).isInstanceOf(Outcome.Retry.class);
    assertThat(v.resolve(List.of(Outcome.reject("different"))).get(0)).isEqualTo(Outcome.reject("different"));
  }

  @Test
  void wholeRequestFailuresAreReportedForHealthAndItemFailuresAreNot() {
    assertThat(ElasticsearchSink.outcomes(1, List.of(), null, new ConnectException()).requestFailure())
        .contains("unreachable").contains("connection refused");
    assertThat(ElasticsearchSink.outcomes(1, List.of(), bulk(item(429, "es_rejected_execution_exception", "q")), null).requestFailure())
        .isNull();
  }

  @Test
  void wholeRequestFailuresRetryEveryRecord() {
    assertThat(outcomes(2, List.of(), new EsClient.Response(503, "{\"error\":\"unavailable\"}".getBytes()), null))
        .hasSize(2).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> assertThat(r.reason()).contains("503")));
    assertThat(outcomes(2, List.of(), new EsClient.Response(413, new byte[0]), null))
        .allSatisfy(o -> assertThat(o).isInstanceOf(Outcome.Retry.class));
    assertThat(outcomes(2, List.of(), null, new CompletionException(new ConnectException())))
        .allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> assertThat(r.reason()).contains("connection refused")));
    assertThat(outcomes(2, List.of(), null, new HttpTimeoutException("request timed out")))
        .allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> assertThat(r.reason()).contains("timed out")));
    assertThat(outcomes(2, List.of(), ok("<html>proxy error</html>"), null))
        .allSatisfy(o -> assertThat(o).isInstanceOf(Outcome.Retry.class));
    assertThat(outcomes(2, List.of(), bulk(item(201, null, null)), null))
        .as("an item count that does not match the request").allSatisfy(o -> assertThat(o).isInstanceOf(Outcome.Retry.class));
  }

  @Test
  void recordsDecidedBeforeSendingKeepTheirOutcomeAndTheRestMapByPosition() {
    Outcome[] local = {null, Outcome.reject("metric x is NaN"), null};
    List<Outcome> out = ElasticsearchSink.outcomes(local, List.of(0, 2), List.of(2), bulk(
        item(201, null, null), item(400, "mapper_parsing_exception", "bad"), item(201, null, null)), null, EsClient::describe).outcomes();
    assertThat(out).containsExactly(Outcome.DELIVERED, Outcome.reject("metric x is NaN"),
        Outcome.reject("mapper_parsing_exception: bad (caused by illegal_argument_exception: inner)"));
    assertThat(ElasticsearchSink.outcomes(local, List.of(0, 2), List.of(), null, new ConnectException(), EsClient::describe).outcomes())
        .extracting(o -> o.getClass().getSimpleName()).containsExactly("Retry", "Reject", "Retry");
  }
}
