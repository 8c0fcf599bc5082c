package io.iotpipe.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compiled topology as definitions JSON: complete, without secrets, and read back by the planner as unchanged. */
class DefinitionsExportTest {

  private static final String ADMIN_PW = "admin-Secret-1";
  private static final String SHOVEL_PW = "shovel-Secret-2";

  @TempDir
  Path dir;

  IotpipeConfig config(String extra) {
    return IotpipeConfig.parse("t.yaml", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672, username: iotpipe-admin, password: "${PW}"}
          cloud: {uris: ["amqp://127.0.0.1:5673", "amqp://127.0.0.1:5674"], management: http://127.0.0.1:15673, username: iotpipe-admin, password: "${PW}"}
        topology: {edges: [edge], balancer: cloud, partitions: 2}
        """ + extra, Map.of("PW", ADMIN_PW)::get);
  }

  IotpipeConfig secured() throws Exception {
    Path passwords = Files.createDirectories(dir.resolve("passwords"));
    Files.writeString(passwords.resolve("iotpipe-shovel.password"), SHOVEL_PW);
    return config("security: {passwords: " + passwords + "}\n");
  }

  static List<String> names(JsonNode list, String field) {
    List<String> out = new ArrayList<>();
    list.forEach(n -> out.add(n.path(field).asText()));
    return out;
  }

  @Test
  void cloudTierHoldsTheHashExchangePartitionsAndSinkQueuesWithTheirArguments() {
    JsonNode d = DefinitionsExport.export(config(""), DefinitionsExport.Tier.CLOUD, null).definitions();
    assertThat(names(d.path("exchanges"), "name")).containsExactlyInAnyOrder("iotpipe.ingress", "iotpipe.p0", "iotpipe.p1", "iotpipe.dlx");
    assertThat(d.path("exchanges").get(0).path("type").asText()).isEqualTo("x-modulus-hash");
    JsonNode elk0 = null;
    for (JsonNode q : d.path("queues")) {
      if (q.path("name").asText().equals("iotpipe.elk.p0")) {
        elk0 = q;
      }
    }
    assertThat(elk0).isNotNull();
    assertThat(elk0.path("durable").asBoolean()).isTrue();
    assertThat(elk0.path("arguments").path("x-queue-type").asText()).isEqualTo("quorum");
    assertThat(elk0.path("arguments").path("x-dead-letter-exchange").asText()).isEqualTo("iotpipe.dlx");
    assertThat(elk0.path("arguments").path("x-delivery-limit").asInt()).isEqualTo(20);
    assertThat(d.path("bindings")).anySatisfy(b -> {
      assertThat(b.path("source").asText()).isEqualTo("iotpipe.ingress");
      assertThat(b.path("destination").asText()).isEqualTo("iotpipe.p1");
      assertThat(b.path("destination_type").asText()).isEqualTo("exchange");
    });
    assertThat(names(d.path("vhosts"), "name")).containsExactly("/");
    assertThat(d.path("users")).isEmpty();
    assertThat(d.path("parameters")).isEmpty();
  }

  @Test
  void edgeShovelKeepsItsDestinationsButNotThePassword() {
    DefinitionsExport.Export e = DefinitionsExport.export(config(""), DefinitionsExport.Tier.EDGE, null);
    JsonNode shovel = e.definitions().path("parameters").get(0);
    assertThat(shovel.path("component").asText()).isEqualTo("shovel");
    assertThat(shovel.path("name").asText()).isEqualTo("iotpipe.edge-to-cloud");
    assertThat(names(shovel.path("value").path("dest-uri"), "x")).hasSize(2);
    assertThat(shovel.path("value").path("dest-uri").get(1).asText()).isEqualTo("amqp://iotpipe-admin@127.0.0.1:5674/%2F");
    assertThat(shovel.path("value").path("ack-mode").asText()).isEqualTo("on-confirm");
    assertThat(e.definitions().toString()).doesNotContain(ADMIN_PW);
    assertThat(e.secrets()).singleElement().asString().contains("shovel iotpipe.edge-to-cloud").contains("topology apply");
  }

  @Test
  void securedTopologyExportsServiceAccountsWithoutSecretsAndSaysWhatItLeavesOut() throws Exception {
    IotpipeConfig cfg = secured();
    DefinitionsExport.Export cloud = DefinitionsExport.export(cfg, DefinitionsExport.Tier.CLOUD, null);
    JsonNode d = cloud.definitions();
    // The administrator iotpipe logs in as is the operator's bootstrap account: importing it would replace its password.
    assertThat(names(d.path("users"), "name")).containsExactlyInAnyOrder("iotpipe-shovel", "iotpipe-elk", "iotpipe-storage");
    assertThat(names(d.path("permissions"), "user")).containsExactlyInAnyOrder("iotpipe-shovel", "iotpipe-elk", "iotpipe-storage");
    assertThat(d.path("users")).allSatisfy(u -> assertThat(u.has("password_hash")).isFalse());
    assertThat(d.path("permissions")).anySatisfy(p -> {
      assertThat(p.path("user").asText()).isEqualTo("iotpipe-elk");
      assertThat(p.path("read").asText()).isEqualTo("^iotpipe\\.elk\\.p\\d+$");
    });
    assertThat(cloud.notExported()).anySatisfy(s -> assertThat(s).contains("user guest must not exist"))
        .anySatisfy(s -> assertThat(s).contains("user iotpipe-admin").contains("brokers.cloud.username"));
    assertThat(d.path("iotpipe").path("secretsNotIncluded")).hasSize(3);

    DefinitionsExport.Export edge = DefinitionsExport.export(cfg, DefinitionsExport.Tier.EDGE, null);
    assertThat(edge.notExported()).anySatisfy(s -> assertThat(s).contains("device enroll"));
    assertThat(edge.definitions().path("parameters").get(0).path("value").path("dest-uri").get(0).asText())
        .startsWith("amqp://iotpipe-shovel@");
    assertThat(cloud.definitions().toString() + edge.definitions()).doesNotContain(SHOVEL_PW, ADMIN_PW, "password_hash");
  }

  @Test
  void aSelectionNeedingDifferentDefinitionsNamesHowToChoose() {
    IotpipeConfig cfg = config("");
    assertThatThrownBy(() -> DefinitionsExport.export(cfg, null, null)).isInstanceOf(TopologyException.class)
        .hasMessageContaining("edge (edge); cloud (cloud)").hasMessageContaining("--tier edge|cloud or --broker NAME");
    assertThatThrownBy(() -> DefinitionsExport.export(cfg, null, "nope")).hasMessageContaining("choose one of [edge, cloud]");
    assertThat(DefinitionsExport.export(cfg, null, "cloud").brokers()).containsExactly("cloud");
  }

  @Test
  void likeEdgesShareOneDocument() {
    IotpipeConfig cfg = IotpipeConfig.parse("t.yaml", """
        brokers:
          edge-a: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          edge-b: {uris: [amqp://127.0.0.2:5672], management: http://127.0.0.2:15672}
          cloud: {uris: [amqp://127.0.0.1:5673], management: http://127.0.0.1:15673}
        topology: {edges: [edge-a, edge-b], balancer: cloud, partitions: 2}
        """, k -> null);
    assertThat(DefinitionsExport.export(cfg, DefinitionsExport.Tier.EDGE, null).brokers()).containsExactly("edge-a", "edge-b");
  }

  /** What a broker holding exactly the export lists through the management API, as the planner reads it. */
  static TopologyPlanner.BrokerState imported(JsonNode d) {
    Map<String, JsonNode> ex = new HashMap<>();
    d.path("exchanges").forEach(x -> ex.put(x.path("name").asText(), x));
    Map<String, JsonNode> qs = new HashMap<>();
    d.path("queues").forEach(x -> qs.put(x.path("name").asText(), x));
    var bs = new HashSet<String>();
    d.path("bindings").forEach(b -> bs.add(new Declaration.Binding(b.path("source").asText(), b.path("destination").asText(),
        "exchange".equals(b.path("destination_type").asText()), b.path("routing_key").asText()).key()));
    Map<String, JsonNode> sh = new HashMap<>();
    d.path("parameters").forEach(x -> sh.put(x.path("name").asText(), x));
    return new TopologyPlanner.BrokerState(ex, qs, bs, sh);
  }

  @Test
  void thePlannerFindsTheImportedObjectsUnchangedAndSaysTheShovelLacksOnlyItsPassword() {
    IotpipeConfig cfg = config("");
    for (BrokerTopology t : TopologyCompiler.compile(cfg)) {
      List<Change> changes = TopologyPlanner.diff(t, imported(DefinitionsExport.definitions(t)));
      assertThat(changes).filteredOn(c -> !(c.declaration() instanceof Declaration.Shovel))
          .allSatisfy(c -> assertThat(c.action()).as(c.describe()).isEqualTo(Change.Action.UNCHANGED));
      assertThat(changes).filteredOn(c -> c.declaration() instanceof Declaration.Shovel).allSatisfy(c -> {
        assertThat(c.action()).isEqualTo(Change.Action.UPDATE);
        assertThat(c.detail()).isEqualTo("its destination URIs carry no password (definitions exports hold no secrets): "
            + "apply stores them with the password");
      });
    }
  }
}
