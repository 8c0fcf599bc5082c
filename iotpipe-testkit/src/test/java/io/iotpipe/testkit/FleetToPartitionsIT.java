package io.iotpipe.testkit;

import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.simulator.Ledger;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.envelope.Decoded;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.rabbitmq.Amqp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Devices → edge → shovel → hash exchange → partition fanout → sink queues, on real nodes. */
class FleetToPartitionsIT {

  static final int PARTITIONS = 4;

  @RegisterExtension
  static final LocalNodes nodes = LocalNodes.cloud(1);

  static IotpipeConfig applied() {
    return nodes.applied(PARTITIONS);
  }

  static Simulation.Options options(IotpipeConfig cfg, int devices, double rate, Duration duration, long perDevice,
                                    SimulatorConfig.Protocol protocol) {
    return Simulation.Options.from(cfg.simulator()).with(devices, rate, duration, perDevice)
        .withProfile(SimulatorConfig.LoadShape.FLAT, protocol);
  }

  long depth(IotpipeConfig cfg, String sink) {
    Map<String, Long> d = nodes.deployment().cloud().node(0).queueDepths();
    long n = 0;
    for (int p = 0; p < PARTITIONS; p++) {
      n += d.getOrDefault(cfg.topology().names().sinkQueue(sink, p), 0L);
    }
    return n;
  }

  /** Takes every message of a queue, in queue order (a consumer: SAC quorum queues refuse basic.get). */
  static List<Telemetry> drain(IotpipeConfig cfg, String queue) throws Exception {
    TelemetryCodec codec = new TelemetryCodec();
    List<Telemetry> out = java.util.Collections.synchronizedList(new ArrayList<>());
    long depth = nodes.deployment().cloud().node(0).queueDepths().getOrDefault(queue, 0L);
    try (var c = Amqp.connect(cfg.broker("cloud"), "test-drain"); Channel ch = c.createChannel()) {
      ch.basicConsume(queue, true, (tag, m) -> {
        Decoded d = codec.decode(m.getBody());
        out.add(d instanceof Decoded.Valid v ? v.telemetry() : null);
      }, tag -> { });
      await().atMost(Duration.ofSeconds(30)).until(() -> out.size() >= depth);
    }
    assertThat(out).as("valid envelopes in %s", queue).doesNotContainNull();
    return out;
  }

  /**
   * The done-when of the backbone: every confirmed reading in exactly one partition, in both sinks, in seq order.
   * With {@code atLeastOnce}, a reading may appear twice (a shovel that lost its confirm when the cloud went down
   * re-sends it: at-least-once between brokers, duplicates are removed by the sinks' idempotent writes), but none is
   * missing and first appearances stay in seq order.
   */
  void assertPartitioned(IotpipeConfig cfg, Ledger ledger, boolean atLeastOnce) throws Exception {
    long confirmed = ledger.confirmed();
    await().atMost(Duration.ofSeconds(60)).until(() -> depth(cfg, "elk") >= confirmed && depth(cfg, "storage") >= confirmed);
    Map<String, Integer> partitionOf = new HashMap<>();
    long duplicates = 0;
    for (String sink : List.of("elk", "storage")) {
      Map<String, List<Long>> seqs = new HashMap<>();
      for (int p = 0; p < PARTITIONS; p++) {
        for (Telemetry t : drain(cfg, cfg.topology().names().sinkQueue(sink, p))) {
          Integer before = partitionOf.putIfAbsent(t.deviceId(), p);
          assertThat(before == null ? p : before).as("%s always in one partition", t.deviceId()).isEqualTo(p);
          seqs.computeIfAbsent(t.deviceId(), k -> new ArrayList<>()).add(t.seq());
        }
      }
      for (var e : ledger.devices().entrySet()) {
        List<Long> got = seqs.getOrDefault(e.getKey(), List.of());
        List<Long> firsts = got.stream().distinct().toList();
        duplicates += got.size() - firsts.size();
        assertThat(firsts.size()).as("%s in %s: %s", e.getKey(), sink, got).isBetween((int) e.getValue().confirmed(), (int) e.getValue().published());
        for (int i = 0; i < firsts.size(); i++) {
          assertThat(firsts.get(i)).as("%s in seq order in %s: %s", e.getKey(), sink, got).isEqualTo(i + 1L);
        }
      }
    }
    if (!atLeastOnce) {
      assertThat(duplicates).as("duplicates").isZero();
    }
    assertThat(partitionOf.values()).as("devices spread over all partitions").containsAll(List.of(0, 1, 2, 3));
  }

  @Test
  void everyConfirmedReadingLandsOnceInOnePartitionOfEachSinkInOrder() throws Exception {
    IotpipeConfig cfg = applied();
    try (Simulation sim = Simulation.create(cfg, options(cfg, 100, 5000, null, 50, SimulatorConfig.Protocol.AMQP))) {
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isEqualTo(5000);
      assertThat(r.unconfirmed()).isZero();
      assertPartitioned(cfg, sim.ledger(), false);
    }
  }

  @Test
  void mqttDevicesArriveThroughTheEdgeMqttListener() throws Exception {
    IotpipeConfig cfg = applied();
    try (Simulation sim = Simulation.create(cfg, options(cfg, 20, 2000, null, 10, SimulatorConfig.Protocol.MQTT))) {
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isEqualTo(200);
      assertPartitioned(cfg, sim.ledger(), false);
    }
  }

  @Test
  void edgeBuffersWhileTheCloudIsDownAndTheShovelRecoversByItself() throws Exception {
    IotpipeConfig cfg = applied();
    try (Simulation sim = Simulation.create(cfg, options(cfg, 50, 300, Duration.ofSeconds(20), 0, SimulatorConfig.Protocol.AMQP))) {
      CompletableFuture<SimulationResult> run = CompletableFuture.supplyAsync(() -> sim.run(null));
      await().atMost(Duration.ofSeconds(20)).until(() -> sim.progress().confirmed() > 300);
      nodes.deployment().cloud().node(0).stop();
      String outbound = cfg.topology().names().edgeOutbound();
      long during = sim.progress().confirmed();
      // Devices keep getting confirms from the edge, which holds their readings.
      await().atMost(Duration.ofSeconds(20)).until(() -> sim.progress().confirmed() > during + 500);
      assertThat(nodes.deployment().edge().queueDepths().getOrDefault(outbound, 0L)).isPositive();
      nodes.deployment().cloud().node(0).start();
      SimulationResult r = run.get();
      assertThat(r.unconfirmed()).isZero();
      await().atMost(Duration.ofSeconds(60)).until(() -> nodes.deployment().edge().queueDepths().getOrDefault(outbound, -1L) == 0);
      assertPartitioned(cfg, sim.ledger(), true);
    }
  }
}
