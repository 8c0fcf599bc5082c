package io.iotpipe.testkit;

import io.iotpipe.topology.Change;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;
import io.iotpipe.topology.ManagementClient;
import io.iotpipe.topology.TopologyException;
import io.iotpipe.topology.BrokerTopology;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** On a 3-node cloud cluster the sink queues are quorum queues replicated on every node. */
class ClusterTopologyIT {

  @Test
  void partitionQueuesAreQuorumQueuesWithMembersOnAllThreeNodes(@TempDir Path dir) {
    try (LocalDeployment nodes = LocalDeployment.start(dir, 3)) {
      IotpipeConfig cfg = IotpipeConfig.parse("test", nodes.configYaml("c3", 2, null), k -> null);
      TopologyPlanner planner = new TopologyPlanner();
      planner.apply(cfg, planner.plan(cfg));
      List<String> names = nodes.cloud().nodes().stream().map(LocalNode::nodeName).toList();
      // Any node's management API answers for the whole cluster.
      ManagementClient mc = new ManagementClient(cfg.broker("cloud"));
      for (String sink : List.of("elk", "storage")) {
        for (int p = 0; p < 2; p++) {
          JsonNode q = mc.get("queues/%2F/c3." + sink + ".p" + p);
          assertThat(q.path("type").asText()).isEqualTo("quorum");
          List<String> members = new ArrayList<>();
          q.path("members").forEach(m -> members.add(m.asText()));
          assertThat(members).as("members of %s", q.path("name").asText()).containsExactlyInAnyOrderElementsOf(names);
        }
      }
      // The edge shovel can reach every cloud node.
      JsonNode shovel = new ManagementClient(cfg.broker("edge")).get("parameters/shovel/%2F/c3.edge-to-cloud");
      assertThat(shovel.path("value").path("dest-uri")).hasSize(3);
    }
  }
}
