package io.iotpipe.cli.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.tenant.TenantRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search side of `topology plan` without an engine (with one: scripts/search-compat.sh tenants runs `tenant add`). */
class TenantPlanTest {

  static IotpipeConfig config(String extra) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:1], management: http://127.0.0.1:1}
          cloud: {uris: [amqp://127.0.0.1:2]}
        topology: {edges: [edge], balancer: cloud}
        indexer: {urls: [http://127.0.0.1:1], requestTimeout: 2s}
        """ + extra, k -> null);
  }

  @Test
  void withoutTenantsThePlanHasNoSearchPart() {
    assertThat(TopologyCommand.searchPlan(config(""))).isEmpty();
  }

  @Test
  void eachRegistryTenantsRoleIsPlannedWithTheIndicesItMayReadAndAnUnreachableEngineIsSaid(@TempDir Path dir) {
    Path registry = dir.resolve("tenants.tsv");
    new TenantRegistry(registry).assign(List.of("evc-1", "evc-2"), "acme");
    new TenantRegistry(registry).assign(List.of("evc-3"), "globex");
    List<Map<String, Object>> plan = TopologyCommand.searchPlan(config("tenants: {registry: " + registry + "}\n"));
    assertThat(plan).extracting(c -> c.get("tenant")).containsExactly("acme", "globex");
    assertThat(plan).extracting(c -> c.get("role")).containsExactly("telemetry-tenant-acme", "telemetry-tenant-globex");
    assertThat(plan.getFirst().get("indices")).isEqualTo(List.of("telemetry-*.tenant-acme"));
    assertThat(plan).extracting(c -> c.get("action")).containsOnly("unknown");
    assertThat((String) plan.getFirst().get("line")).startsWith("? role telemetry-tenant-acme: read telemetry-*.tenant-acme  (not checked: ");
  }
}
