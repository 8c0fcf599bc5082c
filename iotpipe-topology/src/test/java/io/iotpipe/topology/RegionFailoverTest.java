package io.iotpipe.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** When the edges move to the other region and back (probes and shovel moves faked). */
class RegionFailoverTest {

  static final String YAML = """
      brokers:
        edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
        eu: {uris: [amqp://127.0.0.1:5673, amqp://127.0.0.1:5674], management: http://127.0.0.1:15673}
        us: {uris: [amqp://127.0.0.1:5683], management: http://127.0.0.1:15683}
      topology:
        prefix: t
        edges: [edge]
        balancer: eu
        failover: [us]
        partitions: 2
      """;

  final IotpipeConfig cfg = IotpipeConfig.parse("test", YAML, k -> null);
  final Set<String> down = new HashSet<>();
  final List<String> moves = new ArrayList<>();
  final RegionFailover failover = new RegionFailover(cfg, 3, 5, (BrokerConfig b) -> !down.contains(b.name()), moves::add);

  @Test
  void movesAfterThreeFailedProbesAndBackAfterFiveGoodOnes() {
    assertThat(failover.step().moved()).isFalse();
    down.add("eu");
    assertThat(failover.step().moved()).isFalse();
    assertThat(failover.step().moved()).isFalse();
    RegionFailover.Decision d = failover.step();
    assertThat(d.moved()).isTrue();
    assertThat(d.region()).isEqualTo("us");
    assertThat(d.reason()).contains("home region eu unreachable");
    down.remove("eu");
    for (int i = 0; i < 4; i++) {
      assertThat(failover.step().moved()).as("probe %d", i).isFalse();
    }
    assertThat(failover.step().region()).isEqualTo("eu");
    assertThat(moves).containsExactly("us", "eu");
  }

  @Test
  void aFlappingHomeDoesNotMoveTraffic() {
    for (int i = 0; i < 20; i++) {
      if (i % 3 == 0) {
        down.add("eu");
      } else {
        down.remove("eu");
      }
      failover.step();
    }
    assertThat(moves).isEmpty();
  }

  @Test
  void staysHomeWhenNoOtherRegionAnswers() {
    down.addAll(List.of("eu", "us"));
    for (int i = 0; i < 5; i++) {
      failover.step();
    }
    assertThat(moves).isEmpty();
    assertThat(failover.current()).isEqualTo("eu");
  }

  @Test
  void theFailoverRegionGetsTheWholeCloudTopologyAndTheEdgeShovelOnlyHomeNodes() {
    List<BrokerTopology> compiled = TopologyCompiler.compile(cfg);
    assertThat(compiled).extracting(b -> b.broker().name()).containsExactly("edge", "eu", "us");
    BrokerTopology us = compiled.get(2);
    assertThat(us.declarations()).extracting(Declaration::key).contains("queue t.elk.p0", "queue t.storage.p1");
    Declaration.Shovel shovel = (Declaration.Shovel) compiled.get(0).declarations().stream()
        .filter(x -> x instanceof Declaration.Shovel).findFirst().orElseThrow();
    assertThat(String.valueOf(shovel.value().get("dest-uri"))).contains(":5673").contains(":5674").doesNotContain(":5683");
    assertThat(cfg.inRegion("us").sinkBroker().name()).isEqualTo("us");
  }
}
