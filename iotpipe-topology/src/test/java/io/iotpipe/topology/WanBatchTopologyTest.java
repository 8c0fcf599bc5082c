package io.iotpipe.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code topology.wan.mode: batch}: no edge shovel, a batch exchange into the partitions, the forwarder's account. */
class WanBatchTopologyTest {

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dir;

  IotpipeConfig config(String topologyExtra, String security) {
    return IotpipeConfig.parse("t.yaml", """
        brokers:
          edge: {uris: ["amqp://127.0.0.1:5672"], management: http://127.0.0.1:15672, username: admin, password: "${PW}"}
          cloud: {uris: ["amqp://127.0.0.1:5673"], management: http://127.0.0.1:15673, username: admin, password: "${PW}"}
        topology: {edges: [edge], balancer: cloud, partitions: 2%s}
        %s""".formatted(topologyExtra, security), Map.of("PW", "x")::get);
  }

  List<Declaration> decls(IotpipeConfig cfg, String broker) {
    return TopologyCompiler.compile(cfg).stream().filter(t -> t.broker().name().equals(broker)).findFirst().orElseThrow()
        .declarations();
  }

  @Test
  void shovelModeStaysTheDefaultWithNoBatchExchangeAndNoForwarder() {
    IotpipeConfig cfg = config("", "security: {passwords: " + dir + "}");
    assertThat(cfg.topology().wan().batches()).isFalse();
    assertThat(cfg.batchPublisher()).isNull();
    assertThat(decls(cfg, "edge")).anyMatch(d -> d instanceof Declaration.Shovel);
    assertThat(decls(cfg, "cloud")).noneMatch(d -> d.key().contains("batches"))
        .noneMatch(d -> d instanceof Declaration.User u && u.name().endsWith("-forward"));
  }

  @Test
  void batchModeReplacesTheShovelByABatchExchangeBoundToEachPartitionAndAForwarderThatMayWriteOnlyThere() {
    IotpipeConfig cfg = config(", wan: {mode: batch, linger: 20ms, maxReadings: 200}", "security: {passwords: " + dir + "}");
    assertThat(cfg.topology().wan().maxReadings()).isEqualTo(200);
    assertThat(cfg.batchPublisher()).isEqualTo("iotpipe-forward");
    List<Declaration> edge = decls(cfg, "edge");
    assertThat(edge).noneMatch(d -> d instanceof Declaration.Shovel)
        .contains(new Declaration.ShovelAbsent("iotpipe.edge-to-cloud"))
        .contains(new Declaration.Permission("iotpipe-forward", "/", "^$", "^iotpipe\\.batches$", "^iotpipe\\.edge\\.outbound$"));
    List<Declaration> cloud = decls(cfg, "cloud");
    assertThat(cloud).contains(new Declaration.Exchange("iotpipe.batches", "direct", Map.of()),
        new Declaration.Binding("iotpipe.batches", "iotpipe.p0", true, "p0"),
        new Declaration.Binding("iotpipe.batches", "iotpipe.p1", true, "p1"));
    // Nobody else may write the batch exchange: the sinks write only the dead-letter exchange, the shovel account
    // the ingress and partition exchanges.
    for (ServiceAccounts.Account a : ServiceAccounts.forTopology(cfg.topology().names(), cfg.topology().sinks(), true)) {
      if (!a.user().equals("iotpipe-forward") && !a.tags().contains("administrator")) {
        assertThat("iotpipe.batches").as(a.user()).doesNotMatch(a.write());
      }
    }
  }

  @Test
  void withoutSecurityTheForwarderPublishesAsTheBalancersUser() {
    assertThat(config(", wan: {mode: batch}", "").batchPublisher()).isEqualTo("admin");
  }

  @Test
  void theExportSaysTheShovelMustGo() {
    IotpipeConfig cfg = config(", wan: {mode: batch}", "");
    assertThat(DefinitionsExport.export(cfg, DefinitionsExport.Tier.EDGE, null).notExported())
        .anyMatch(n -> n.contains("shovel iotpipe.edge-to-cloud must not exist"));
  }

  @Test
  void batchModeWithASeparateFanoutOrAFailoverRegionIsRefusedWithTheRule() {
    assertThatThrownBy(() -> IotpipeConfig.parse("t.yaml", """
        brokers:
          edge: {uris: ["amqp://127.0.0.1:5672"], management: http://127.0.0.1:15672}
          cloud: {uris: ["amqp://127.0.0.1:5673"], management: http://127.0.0.1:15673}
          west: {uris: ["amqp://127.0.0.1:5674"], management: http://127.0.0.1:15674}
        topology: {edges: [edge], balancer: cloud, failover: [west], wan: {mode: batch}}
        """, Map.<String, String>of()::get)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topology.wan.mode").hasMessageContaining("no topology.failover yet");
  }
}
