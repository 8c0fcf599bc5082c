package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.topology.TopologyPlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A sink the framework has never heard of ({@link ProbeSinkPlugin}, found through {@code ServiceLoader} like the
 * product's sinks) runs as a role on real queues: the runtime opens its partitions, hands it batches, drives its
 * commits on its own clock, acks exactly what the commits made durable, and closes it.
 */
class PluginLifecycleIT {

  @RegisterExtension
  static final LocalNodes nodes = LocalNodes.cloud(1);

  @Test
  void anUnknownPluginIsDrivenThroughItsWholeLifecycleAndEveryReadingIsAckedOnceAfterItsCommit() throws Exception {
    IotpipeConfig cfg = nodes.config(2, y -> y.replace("  partitions: 2\n", "  partitions: 2\n  sinks: [elk, storage, probe]\n"));
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(cfg, planner.plan(cfg));
    assertThat(cfg.topology().sinks()).contains("probe");
    Role probe = Role.of("probe");
    assertThat(Role.configured(cfg)).contains(probe);
    ProbeSinkPlugin.CALLS.clear();
    ProbeSinkPlugin.STORED.clear();
    SimulationResult result;
    try (PipelineRunner runner = new PipelineRunner(cfg, Set.of(probe), "it-probe", new SimpleMeterRegistry()).start();
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(10, 50, Duration.ofSeconds(4), 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      result = sim.run(null);
      assertThat(result.confirmed()).isPositive();
      await("every confirmed reading acked by the probe role").atMost(Duration.ofSeconds(60))
          .until(() -> runner.stats().get(probe).delivered() == result.confirmed() && runner.stats().get(probe).pending() == 0);
      assertThat(ProbeSinkPlugin.STORED).hasSize((int) result.confirmed());
      assertThat(ProbeSinkPlugin.STORED.values()).as("each stored once").containsOnly(1);
      assertThat(ProbeSinkPlugin.CALLS).contains("create:it-probe", "open:" + cfg.topology().names().sinkQueue("probe", 0), "open:" + cfg.topology().names().sinkQueue("probe", 1), "commit");
      assertThat(ProbeSinkPlugin.THREADS).as("commits run on the runtime's clock, not a thread of the sink")
          .allMatch(t -> t.startsWith("iotpipe-probe-scheduler"));
    }
    assertThat(ProbeSinkPlugin.CALLS).as("flush and close at the end, after the first commit")
        .containsSubsequence("commit", "flush", "close");
    assertThat(ProbeSinkPlugin.CALLS.getLast()).isEqualTo("close");
  }
}
