package io.iotpipe.broker;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.ConnectionFactory;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalDeploymentIT {

  @Test
  void startsEdgeAndCloudThatAcceptClientsAndLeavesNothingRunning(@TempDir Path dir) throws Exception {
    long edgePid;
    long cloudPid;
    try (LocalDeployment d = LocalDeployment.start(dir, 1)) {
      edgePid = d.edge().pid();
      cloudPid = d.cloud().node(0).pid();
      assertThat(edgePid).isPositive();
      assertThat(cloudPid).isPositive();
      ConnectionFactory f = new ConnectionFactory();
      f.setPort(d.cloud().node(0).ports().amqp());
      // A quorum queue, as the cloud's partition queues are.
      declareAndPublish(f, "first");
      awaitProbe(d, 1);
      // The generated config is valid and points at these nodes.
      IotpipeConfig cfg = IotpipeConfig.parse("generated", d.configYaml(4, null), System::getenv);
      assertThat(cfg.broker("edge").uris()).containsExactly(d.edge().amqpUri());
      assertThat(cfg.simulator().mqtt().getPort()).isEqualTo(d.edge().mqttPort());
      // Another process finds the nodes through the state file.
      LocalDeployment attached = LocalDeployment.attach(dir);
      assertThat(attached.edge().pid()).isEqualTo(edgePid);

      // RabbitMQ does not promise that a queue declared moments before an unclean stop comes back: the queue's
      // registration sits in Erlang's DETS write cache for up to 3 s, and a quorum queue whose registration was lost
      // restarts empty (on 3.10.8 every kill within about 2 s of the declaration lost the confirmed message, no later
      // kill did). What it promises is that a confirmed persistent message in a queue the node has settled survives
      // a crash. So: a clean restart settles the queue (and proves a stopped node comes
      // back with its data), then a message confirmed just before the kill -9 must survive it.
      d.cloud().node(0).stop();
      assertThat(d.cloud().node(0).isRunning()).isFalse();
      d.cloud().node(0).start();
      awaitProbe(d, 1);
      declareAndPublish(f, "second");

      // A killed node restarts with the same name, ports and data.
      d.cloud().node(0).kill();
      assertThat(d.cloud().node(0).isRunning()).isFalse();
      d.cloud().node(0).start();
      awaitProbe(d, 2);
      cloudPid = d.cloud().node(0).pid();
    }
    assertThat(ProcessHandle.of(edgePid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    assertThat(ProcessHandle.of(cloudPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  /** Declares the durable quorum queue {@code probe} (idempotent) and publishes one persistent message, confirmed. */
  private static void declareAndPublish(ConnectionFactory f, String body) throws Exception {
    try (var c = f.newConnection(); var ch = c.createChannel()) {
      ch.queueDeclare("probe", true, false, false, Map.of("x-queue-type", "quorum"));
      // With a confirm the message is on the node's disk (fsynced): only then must it survive a kill -9.
      ch.confirmSelect();
      ch.basicPublish("", "probe", com.rabbitmq.client.MessageProperties.PERSISTENT_TEXT_PLAIN, body.getBytes());
      ch.waitForConfirmsOrDie(10_000);
    }
  }

  /**
   * Waits until the node lists {@code probe} with {@code messages}: a quorum queue's count comes from its leader's
   * periodic metrics, and after a restart only once its member has elected itself leader again.
   */
  private static void awaitProbe(LocalDeployment d, long messages) {
    LocalNode n = d.cloud().node(0);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
        .untilAsserted(() -> assertThat(n.queueDepths())
            // if this ever fails, say what the node said
            .as(() -> "list_queues: " + n.ctl("list_queues", "name", "messages", "state", "type").output()
                + "\nstatus: " + n.ctl("status").output() + "\nlog (warnings and errors): " + problems(n))
            .containsEntry("probe", messages));
  }

  private static String problems(LocalNode n) {
    try {
      Path log = n.spec().dir().resolve("log").resolve(n.nodeName() + ".log");
      return String.join("\n", java.nio.file.Files.readAllLines(log).stream()
          .filter(l -> l.contains("[warning]") || l.contains("[error]") || l.contains("ecover")).toList());
    } catch (java.io.IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  // A 3-node cluster is formed and checked in ClusterTopologyIT (iotpipe-topology), which needs one anyway.
}
