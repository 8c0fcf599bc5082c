package io.iotpipe.testkit;

import io.iotpipe.topology.Change;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;
import io.iotpipe.topology.ManagementClient;
import io.iotpipe.topology.TopologyException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.ConnectionFactory;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Topology plan/apply against real nodes: idempotence, conflicts, shovel-connected fanout. */
class TopologyIT {

  @RegisterExtension
  static final LocalNodes fixture = LocalNodes.cloud(1);
  static LocalDeployment nodes;

  @BeforeAll
  static void start() {
    nodes = fixture.deployment();
  }

  private static String prefix() {
    return LocalNodes.prefix();
  }

  private static IotpipeConfig config(String yaml) {
    return IotpipeConfig.parse("test", yaml, k -> null);
  }

  @Test
  void applyDeclaresEverythingAndASecondApplyChangesNothing() {
    String prefix = prefix();
    IotpipeConfig cfg = config(nodes.configYaml(prefix, 4, null));
    TopologyPlanner planner = new TopologyPlanner();

    Plan first = planner.plan(cfg);
    assertThat(first.conflicts()).isEmpty();
    assertThat(first.count(Change.Action.CREATE)).isPositive();
    assertThat(planner.apply(cfg, first)).isEqualTo(first.pending().size());

    Plan second = planner.plan(cfg);
    assertThat(second.pending()).as("second plan: %s", second.render()).isEmpty();
    assertThat(planner.apply(cfg, second)).isZero();

    // Every stage of the design exists where it belongs.
    ManagementClient cloud = new ManagementClient(cfg.broker("cloud"));
    JsonNode ingress = cloud.get("exchanges/%2F/" + prefix + ".ingress");
    assertThat(ingress.path("type").asText()).isEqualTo("x-modulus-hash");
    for (String sink : new String[] {"elk", "storage"}) {
      for (int p = 0; p < 4; p++) {
        JsonNode q = cloud.get("queues/%2F/" + prefix + "." + sink + ".p" + p);
        assertThat(q.path("type").asText()).isEqualTo("quorum");
        assertThat(q.path("arguments").path("x-dead-letter-exchange").asText()).isEqualTo(prefix + ".dlx");
      }
      assertThat(cloud.get("queues/%2F/" + prefix + ".dlq." + sink)).isNotNull();
    }
    ManagementClient edge = new ManagementClient(cfg.broker("edge"));
    JsonNode outbound = edge.get("queues/%2F/" + prefix + ".edge.outbound");
    assertThat(outbound.path("arguments").path("x-overflow").asText()).isEqualTo("reject-publish");
    JsonNode shovel = edge.get("parameters/shovel/%2F/" + prefix + ".edge-to-cloud");
    assertThat(shovel.path("value").path("ack-mode").asText()).isEqualTo("on-confirm");
  }

  @Test
  void conflictingDeclarationIsReportedWithWhatDiffersAndNothingIsDeclared() throws Exception {
    String prefix = prefix();
    IotpipeConfig cfg = config(nodes.configYaml(prefix, 2, null));
    // Someone declared the elk queue of partition 0 by hand, as a classic queue with a length limit.
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(nodes.cloud().node(0).ports().amqp());
    try (var c = f.newConnection(); var ch = c.createChannel()) {
      ch.queueDeclare(prefix + ".elk.p0", true, false, false, Map.of("x-max-length", 10));
    }
    TopologyPlanner planner = new TopologyPlanner();
    Plan plan = planner.plan(cfg);
    assertThat(plan.conflicts()).singleElement().satisfies(ch -> {
      assertThat(ch.declaration().key()).isEqualTo("queue " + prefix + ".elk.p0");
      assertThat(ch.detail()).contains("x-max-length: wanted (none), found 10").contains("x-queue-type: wanted \"quorum\"");
    });
    assertThatThrownBy(() -> planner.apply(cfg, plan)).isInstanceOf(TopologyException.class)
        .hasMessageContaining("nothing was declared").hasMessageContaining(prefix + ".elk.p0");
    ManagementClient cloud = new ManagementClient(cfg.broker("cloud"));
    assertThat(cloud.get("exchanges/%2F/" + prefix + ".ingress")).as("nothing half-declared").isNull();
  }

  @Test
  void fanoutOnAnotherBrokerIsConnectedByShovels() {
    String prefix = prefix();
    // The partitions' fanout stage lives on the "edge" node here: the compiler must bridge with shovels.
    IotpipeConfig cfg = config(nodes.configYaml(prefix, 2, null).replace("balancer: cloud", "balancer: cloud\n  fanout: edge"));
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(cfg, planner.plan(cfg));
    ManagementClient cloud = new ManagementClient(cfg.broker("cloud"));
    JsonNode shovel = cloud.get("parameters/shovel/%2F/" + prefix + ".p1.transfer");
    assertThat(shovel).isNotNull();
    assertThat(shovel.path("value").path("dest-exchange").asText()).isEqualTo(prefix + ".p1");
    assertThat(new ManagementClient(cfg.broker("edge")).get("queues/%2F/" + prefix + ".storage.p1")).isNotNull();
    assertThat(planner.plan(cfg).pending()).isEmpty();
  }

  @Test
  void unreachableBrokerGivesOneClearMessage() {
    String yaml = nodes.configYaml(prefix(), 2, null).replace(nodes.cloud().managementUri().toString(), "http://127.0.0.1:1");
    assertThatThrownBy(() -> new TopologyPlanner().plan(config(yaml))).isInstanceOf(TopologyException.class)
        .hasMessageContaining("cannot reach the management API of broker \"cloud\"").hasMessageContaining("nothing was declared");
  }
}
