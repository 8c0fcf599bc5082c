package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The switch's requests and name rules, before any engine is involved (the engine's side: ReindexIT). */
class IndexSwitchTest {

  @Test
  void aRebuiltIndexNamesItsLiveNameWithTheTenantKept() {
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06-v2", "v2", "telemetry-20", null)).isEqualTo("telemetry-2026.12.06");
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06-v2.tenant-a", "v2", "telemetry-20", null)).isEqualTo("telemetry-2026.12.06.tenant-a");
    assertThat(IndexSwitch.liveName("telemetry-latest-v2", "v2", "telemetry-latest", null)).isEqualTo("telemetry-latest");
    assertThat(IndexSwitch.liveName("telemetry-latest-v2.tenant-a", "v2", "telemetry-latest", "a")).isEqualTo("telemetry-latest.tenant-a");
    // another suffix, another tenant, or a live index of tenant "x-v2": not this rebuild's
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06-v20", "v2", "telemetry-20", null)).isNull();
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06-v2.tenant-b", "v2", "telemetry-20", "a")).isNull();
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06-v2", "v2", "telemetry-20", "a")).isNull();
    assertThat(IndexSwitch.liveName("telemetry-2026.12.06.tenant-x-v2", "v2", "telemetry-20", null)).isNull();
  }

  @Test
  void theSwapAddsTheAliasAndRemovesTheOldIndexInOneRequest() {
    var first = new IndexSwitch.Step("telemetry-2026.12.06", "telemetry-2026.12.06", "telemetry-2026.12.06-v2", false);
    assertThat(IndexSwitch.swapBody(first).toString()).isEqualTo("{\"actions\":["
        + "{\"add\":{\"index\":\"telemetry-2026.12.06-v2\",\"alias\":\"telemetry-2026.12.06\"}},"
        + "{\"remove_index\":{\"index\":\"telemetry-2026.12.06\"}}]}");
    var second = new IndexSwitch.Step("telemetry-2026.12.06", "telemetry-2026.12.06-v2", "telemetry-2026.12.06-v3", false);
    // over an earlier rebuild the alias moves and the old index stays for the searches in flight (deleted later)
    assertThat(IndexSwitch.swapBody(second).toString()).isEqualTo("{\"actions\":["
        + "{\"remove\":{\"index\":\"telemetry-2026.12.06-v2\",\"alias\":\"telemetry-2026.12.06\"}},"
        + "{\"add\":{\"index\":\"telemetry-2026.12.06-v3\",\"alias\":\"telemetry-2026.12.06\"}}]}");
    var lost = new IndexSwitch.Step("telemetry-2026.12.06", null, "telemetry-2026.12.06-v2", false);
    assertThat(IndexSwitch.swapBody(lost).toString())
        .isEqualTo("{\"actions\":[{\"add\":{\"index\":\"telemetry-2026.12.06-v2\",\"alias\":\"telemetry-2026.12.06\"}}]}");
    assertThat(new IndexSwitch.Step("t", "t-v2", "t-v2", false).done()).isTrue();
  }

  @Test
  void theCopyCreatesMissingEventsAndLetsTheHigherSeqWinForLatestState() {
    assertThat(IndexSwitch.copyBody("telemetry-2026.12.06", "telemetry-2026.12.06-v2", false, null).toString())
        .isEqualTo("{\"conflicts\":\"proceed\",\"source\":{\"index\":\"telemetry-2026.12.06\"},"
            + "\"dest\":{\"index\":\"telemetry-2026.12.06-v2\",\"op_type\":\"create\"}}");
    assertThat(IndexSwitch.copyBody("telemetry-latest", "telemetry-latest-v2", true, Instant.parse("2026-12-07T08:00:00Z")).toString())
        .isEqualTo("{\"conflicts\":\"proceed\",\"source\":{\"index\":\"telemetry-latest\","
            + "\"query\":{\"range\":{\"ingestTs\":{\"gte\":\"2026-12-07T08:00:00Z\"}}}},"
            + "\"dest\":{\"index\":\"telemetry-latest-v2\",\"version_type\":\"external\"}}");
  }

  @Test
  void aLiveNameIsReplacedOnlyWhenItIsTheIndexOrAnAliasOfAnEarlierRebuild() {
    String fresh = "telemetry-2026.12.06-v3";
    assertThat(IndexSwitch.resolve("telemetry-2026.12.06", fresh, List.of("telemetry-2026.12.06"))).isEqualTo("telemetry-2026.12.06");
    assertThat(IndexSwitch.resolve("telemetry-2026.12.06", fresh, List.of("telemetry-2026.12.06-v2"))).isEqualTo("telemetry-2026.12.06-v2");
    assertThat(IndexSwitch.resolve("telemetry-2026.12.06", fresh, List.of(fresh))).isEqualTo(fresh);
    assertThat(IndexSwitch.resolve("telemetry-latest.tenant-a", "telemetry-latest-v3.tenant-a", List.of("telemetry-latest-v2.tenant-a")))
        .isEqualTo("telemetry-latest-v2.tenant-a");
    assertThatThrownBy(() -> IndexSwitch.resolve("telemetry-2026.12.06", fresh, List.of("archive-2026")))
        .isInstanceOf(IndexSwitch.Refused.class)
        .hasMessageContaining("telemetry-2026.12.06 is already an alias of archive-2026, which is not a rebuild of it")
        .hasMessageContaining("remove the alias");
    assertThatThrownBy(() -> IndexSwitch.resolve("telemetry-2026.12.06", fresh, List.of("a", "b")))
        .isInstanceOf(IndexSwitch.Refused.class).hasMessageContaining("is an alias of 2 indices [a, b]");
  }

  @Test
  void theRebuildIsHiddenByATemplateAboveTheLiveOneWithItsMappings() {
    var cfg = ReindexerTest.config("daily");
    var body = IndexSwitch.hiddenTemplateBody(List.of("telemetry-20*-v2", "telemetry-20*-v2.tenant-*"), cfg,
        new IndexSetup.Engine("opensearch", "3.8.0"));
    assertThat(body.path("index_patterns").toString()).isEqualTo("[\"telemetry-20*-v2\",\"telemetry-20*-v2.tenant-*\"]");
    assertThat(body.path("priority").asInt()).as("above the live template's 200: the highest priority alone applies").isEqualTo(201);
    assertThat(body.path("template").path("settings").path("hidden").asBoolean()).isTrue();
    assertThat(body.path("template").path("mappings")).isEqualTo(IndexSetup.mappings(new IndexSetup.Engine("opensearch", "3.8.0")));
  }

  @Test
  void anEngineWithoutTheReindexApiIsToldApartFromAFailedCopy() {
    // Elasticsearch 8.19.4's integ-test distribution (no reindex module), as recorded by scripts/search-compat.sh reindex
    assertThat(IndexSwitch.noReindexApi(new EsClient.Response(405, ("{\"error\":\"Incorrect HTTP method for uri [/_reindex?"
        + "wait_for_completion=false&refresh=true] and method [POST], allowed: [GET, PUT, DELETE, HEAD]\",\"status\":405}").getBytes()))).isTrue();
    assertThat(IndexSwitch.noReindexApi(new EsClient.Response(400, "{\"error\":\"no handler found for uri [/_reindex] and method [POST]\"}"
        .getBytes()))).isTrue();
    assertThat(IndexSwitch.noReindexApi(new EsClient.Response(403, "{\"error\":{\"type\":\"security_exception\"}}".getBytes()))).isFalse();
    assertThat(IndexSwitch.noReindexApi(new EsClient.Response(400, "{\"error\":{\"type\":\"action_request_validation_exception\"}}"
        .getBytes()))).isFalse();
  }

  @Test
  void theCopyWithoutReindexCreatesEventsAndWritesLatestStateByTheOldVersion() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    var hits = json.readTree("[{\"_index\":\"telemetry-latest\",\"_id\":\"ch-1\",\"_version\":42,\"_source\":{\"deviceId\":\"ch-1\",\"seq\":42}},"
        + "{\"_index\":\"telemetry-latest\",\"_id\":\"ch-2\",\"_version\":7,\"_source\":{\"deviceId\":\"ch-2\",\"seq\":7}}]");
    assertThat(new String(IndexSwitch.bulkCopy(hits, "telemetry-latest-v2", true)))
        .isEqualTo("{\"index\":{\"_index\":\"telemetry-latest-v2\",\"_id\":\"ch-1\",\"version\":42,\"version_type\":\"external\"}}\n"
            + "{\"deviceId\":\"ch-1\",\"seq\":42}\n"
            + "{\"index\":{\"_index\":\"telemetry-latest-v2\",\"_id\":\"ch-2\",\"version\":7,\"version_type\":\"external\"}}\n"
            + "{\"deviceId\":\"ch-2\",\"seq\":7}\n");
    assertThat(new String(IndexSwitch.bulkCopy(json.readTree("[{\"_id\":\"ch-1:42\",\"_version\":1,\"_source\":{\"seq\":42}}]"),
        "telemetry-2026.12.07-v2", false)))
        .isEqualTo("{\"create\":{\"_index\":\"telemetry-2026.12.07-v2\",\"_id\":\"ch-1:42\"}}\n{\"seq\":42}\n");

    long[] counts = new long[2];
    IndexSwitch.countCopied(json.readTree("{\"errors\":true,\"items\":["
        + "{\"create\":{\"_index\":\"telemetry-2026.12.07-v2\",\"_id\":\"ch-1:42\",\"status\":201}},"
        + "{\"create\":{\"_index\":\"telemetry-2026.12.07-v2\",\"_id\":\"ch-1:43\",\"status\":409,"
        + "\"error\":{\"type\":\"version_conflict_engine_exception\"}}},"
        + "{\"index\":{\"_index\":\"telemetry-latest-v2\",\"_id\":\"ch-1\",\"status\":200}}]}"), counts, "copying", "telemetry-2026.12.07");
    assertThat(counts).as("created or updated copied; a conflict is a document the rebuild holds already").containsExactly(2, 1);
    assertThatThrownBy(() -> IndexSwitch.countCopied(json.readTree("{\"errors\":true,\"items\":[{\"create\":{\"_id\":\"ch-1:44\","
        + "\"status\":400,\"error\":{\"type\":\"document_parsing_exception\"}}}]}"), new long[2], "copying x into x-v2", "x"))
        .isInstanceOf(IndexSwitch.Refused.class)
        .hasMessageContaining("copying x into x-v2 failed: HTTP 400 for ch-1:44: {\"type\":\"document_parsing_exception\"}; x is unchanged");
  }

  @Test
  void aRefusalForLackOfRightsNamesTheOperatorsCredentials() {
    // Elasticsearch 8.19.4 with security, the indexer's role (no manage), as recorded by scripts/search-compat.sh reindex
    String reason = "\"type\":\"security_exception\",\"reason\":\"action [indices:admin/settings/update] is unauthorized for user"
        + " [iotpipe] with effective roles [iotpipe_indexer] on indices [telemetry-latest-v2], this action is granted by the index"
        + " privileges [manage,all]\"";
    var refused = new EsClient.Response(403, ("{\"error\":{\"root_cause\":[{" + reason + "}]," + reason + "},\"status\":403}").getBytes());
    assertThatThrownBy(() -> IndexSwitch.check(refused, "hiding the rebuilt indices [telemetry-latest-v2]"))
        .isInstanceOf(IndexSwitch.Refused.class)
        .hasMessageStartingWith("hiding the rebuilt indices [telemetry-latest-v2] failed: HTTP 403: ")
        .hasMessageEndingWith("(a switch needs the manage privilege on the indices and aliases: run it with an operator's"
            + " credentials in indexer.username/password or indexer.apiKey, not the indexer's own)");
  }
}
