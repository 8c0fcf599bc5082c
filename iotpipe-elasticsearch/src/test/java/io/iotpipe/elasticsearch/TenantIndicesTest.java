package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.IndexerConfig.IndexPeriod;
import io.iotpipe.core.envelope.Telemetry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Index names per tenant and the role that reads them, without an engine (the real engine: search-compat.sh tenants). */
class TenantIndicesTest {

  static final Telemetry READING = new Telemetry("cp-17", 42, Instant.parse("2026-12-07T10:00:00Z"), "park-3", "eu-west",
      "CHARGING", null, Map.of("powerKw", 11.5));
  static final IndexerConfig CFG = ReindexerTest.config("daily");

  /** The engine's index-name wildcard ({@code *} only), as role index patterns and the template's use it. */
  static boolean matches(String pattern, String index) {
    return Pattern.compile(Pattern.quote(pattern).replace("*", "\\E.*\\Q")).matcher(index).matches();
  }

  @Test
  void aTenantsReadingsGoToItsOwnEventAndLatestStateIndices() {
    DocumentEncoder enc = new DocumentEncoder("telemetry", IndexPeriod.DAILY, "telemetry-latest");
    DocumentEncoder.Bulk bulk = enc.bulk(16, 0);
    bulk.event(READING.withTenant("acme"));
    bulk.latest(READING.withTenant("acme"));
    bulk.event(READING);
    bulk.latest(READING);
    String[] lines = new String(bulk.finish().array(), 0, bulk.length(), StandardCharsets.UTF_8).split("\n");
    assertThat(lines[0]).contains("\"_index\":\"telemetry-2026.12.07.tenant-acme\"");
    assertThat(lines[1]).contains("\"tenant\":\"acme\"");
    assertThat(lines[2]).contains("\"_index\":\"telemetry-latest.tenant-acme\"");
    assertThat(lines[4]).as("without a tenant: today's names").contains("\"_index\":\"telemetry-2026.12.07\"");
    assertThat(lines[5]).doesNotContain("tenant");
    assertThat(lines[6]).contains("\"_index\":\"telemetry-latest\"");
    assertThat(matches("telemetry-20*", "telemetry-2026.12.07.tenant-acme"))
        .as("the events' template, the audit and reindex cover tenants' event indices unchanged").isTrue();
    assertThat(matches(TenantIndices.latestPattern(CFG), "telemetry-latest.tenant-acme")).isTrue();
    assertThat(matches(TenantIndices.latestPattern(CFG), "telemetry-latest")).isFalse();
  }

  @Test
  void aTenantsPatternsMatchItsIndicesOnlyNeverAnotherTenantsOrTheSharedOnes() {
    List<String> a = TenantIndices.patterns(CFG, "a");
    List<String> own = List.of("telemetry-2026.12.07.tenant-a", "telemetry-latest.tenant-a", "telemetry-2026.12.07-v2.tenant-a",
        "telemetry-latest-v2.tenant-a");
    List<String> others = List.of("telemetry-2026.12.07.tenant-b", "telemetry-2026.12.07.tenant-a-b", "telemetry-2026.12.07.tenant-b-a",
        "telemetry-latest.tenant-ab", "telemetry-latest.tenant-a-b", "telemetry-2026.12.07", "telemetry-latest", "telemetry-latest.tenant-aa");
    for (String ix : own) {
      assertThat(a.stream().anyMatch(p -> matches(p, ix))).as(ix).isTrue();
    }
    for (String ix : others) {
      assertThat(a.stream().anyMatch(p -> matches(p, ix))).as(ix).isFalse();
    }
  }

  @Test
  void theRoleMayReadTheTenantsIndicesAndNothingElse() throws Exception {
    assertThat(TenantIndices.role(CFG, "acme")).isEqualTo("telemetry-tenant-acme");
    assertThat(new ObjectMapper().readTree(TenantIndices.roleBody(CFG, "acme").toString())).isEqualTo(new ObjectMapper().readTree("""
        {"cluster": [],
         "indices": [{"names": ["telemetry-*.tenant-acme"], "privileges": ["read", "view_index_metadata"]}],
         "metadata": {"iotpipe_tenant": "acme"}}
        """));
    assertThat(ElasticsearchTenantAccess.sameRole(new ObjectMapper().readTree("""
        {"cluster": [], "indices": [{"names": ["telemetry-*.tenant-acme"], "privileges": ["read", "view_index_metadata"],
          "allow_restricted_indices": false}], "applications": [], "run_as": [], "metadata": {"iotpipe_tenant": "acme"},
         "transient_metadata": {"enabled": true}}
        """), TenantIndices.roleBody(CFG, "acme"))).as("as Elasticsearch returns it").isTrue();
    assertThat(ElasticsearchTenantAccess.sameRole(new ObjectMapper().readTree("""
        {"cluster": [], "indices": [{"names": ["telemetry-*"], "privileges": ["read", "view_index_metadata"]}]}
        """), TenantIndices.roleBody(CFG, "acme"))).as("a widened role is not the declared one").isFalse();
  }
}
