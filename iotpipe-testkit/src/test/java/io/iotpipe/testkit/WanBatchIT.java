package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.core.config.TopologyConfig;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.runtime.forward.Forwarder;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.topology.TopologyPlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code topology.wan.mode: batch} on real RabbitMQ nodes: a fleet publishes through the edge, {@code Forwarder}
 * carries batches per partition to the cloud, both sink groups unpack them and store every reading exactly once; a
 * reading inside a batch that names another device than its publisher (and one that is not telemetry) is
 * dead-lettered alone, with its reason, in both sink groups while its batch-mates land; while the cloud confirms
 * nothing (publishing blocked by a memory alarm) the edge still holds every reading it took, and nothing is lost after.
 */
class WanBatchIT {

  static final int PARTITIONS = 2;

  @RegisterExtension
  static final LocalNodes nodes = LocalNodes.cloud(1);

  /** A sink that keeps each (deviceId, seq) once, like the real sinks, and counts how often each was written. */
  static final class MemorySink implements Sink {
    final String name;
    final Map<String, Integer> writes = new ConcurrentHashMap<>();

    MemorySink(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
      List<Outcome> out = new ArrayList<>(batch.size());
      for (SinkRecord r : batch) {
        writes.merge(r.telemetry().deviceId() + ":" + r.telemetry().seq(), 1, Integer::sum);
        out.add(Outcome.DELIVERED);
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void close() {}

    boolean holdsAll(Set<String> keys) {
      return writes.keySet().containsAll(keys);
    }

    long duplicates() {
      return writes.values().stream().mapToLong(c -> c - 1).sum();
    }
  }

  static Set<String> keys(Ledger ledger) {
    Set<String> out = new java.util.HashSet<>();
    ledger.devices().forEach((d, e) -> {
      for (long s = 1; s <= e.confirmed(); s++) {
        out.add(d + ":" + s);
      }
    });
    return out;
  }

  static byte[] reading(String device, long seq) {
    return ("{\"v\":1,\"deviceId\":\"" + device + "\",\"seq\":" + seq + ",\"ts\":\"" + Instant.now() + "\",\"status\":\"CHARGING\","
        + "\"metrics\":{\"powerKw\":7.2}}").getBytes(StandardCharsets.UTF_8);
  }

  static Simulation.Options fleet(IotpipeConfig cfg, int devices, long perDevice) {
    return Simulation.Options.from(cfg.simulator()).with(devices, 2000, null, perDevice)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP);
  }

  @Test
  void batchesLandOnceInBothSinksAForgedReadingIsDeadLetteredAloneAndTheEdgeHoldsWhatTheCloudDidNotConfirm() throws Exception {
    IotpipeConfig cfg = nodes.config(PARTITIONS, y -> y.replace("  queueType: quorum\n",
        "  queueType: quorum\n  wan: {mode: batch, linger: 200ms, maxReadings: 100}\n"));
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(cfg, planner.plan(cfg));
    Names n = cfg.topology().names();
    String attacker = "attacker-" + n.prefix();
    ConsumerSettings settings = new ConsumerSettings(200, 200, 1 << 20, Duration.ofMillis(20),
        new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1)), new RetryBudget(5, Duration.ofSeconds(5)), Duration.ofSeconds(10));
    MemorySink elk = new MemorySink("elk");
    MemorySink storage = new MemorySink("storage");
    List<SinkConsumer> consumers = new ArrayList<>();
    var cloudNode = nodes.deployment().cloud().node(0);
    var registry = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    try (Forwarder forwarder = Forwarder.of(cfg, "edge");
         var health = new io.iotpipe.runtime.HealthServer("127.0.0.1", 0, "forwarders", () -> Map.of("edge", forwarder.healthPart()), registry);
         var edgeConn = Amqp.connect(cfg.broker("edge"), "it-forged-device"); Channel edgeCh = edgeConn.createChannel();
         var cloudConn = Amqp.connect(cfg.broker("cloud"), "it-dlq"); Channel cloudCh = cloudConn.createChannel()) {
      forwarder.bindTo(registry);
      forwarder.start();
      for (MemorySink sink : List.of(elk, storage)) {
        List<String> queues = IntStream.range(0, PARTITIONS).mapToObj(p -> n.sinkQueue(sink.name(), p)).toList();
        consumers.add(new SinkConsumer(cfg.sinkBroker(), queues, sink, new TelemetryCodec(), settings, n,
            SloConfig.defaults(List.of(sink.name()), Duration.ofMinutes(1)), new SimpleMeterRegistry(), Duration.ZERO,
            TopologyConfig.Layout.QUEUES, cfg.batchPublisher()).start());
      }

      // 1. A fleet, and one device that slips a reading in another device's name (and one that is no telemetry)
      //    between readings of its own: all under its own routing key, back to back, so they share a batch.
      edgeCh.confirmSelect();
      String key = "telemetry." + attacker;
      byte[] forged = reading("victim-01", 1);
      byte[] garbage = "{not json".getBytes(StandardCharsets.UTF_8);
      List<byte[]> bodies = List.of(reading(attacker, 1), reading(attacker, 2), forged, reading(attacker, 3), garbage,
          reading(attacker, 4));
      for (byte[] b : bodies) {
        edgeCh.basicPublish(n.edgeIngress(), key, new AMQP.BasicProperties.Builder().deliveryMode(2).build(), b);
      }
      edgeCh.waitForConfirmsOrDie(10_000);
      Set<String> expected = new java.util.HashSet<>(Set.of(attacker + ":1", attacker + ":2", attacker + ":3", attacker + ":4"));
      try (Simulation sim = Simulation.create(cfg, fleet(cfg, 20, 25))) {
        SimulationResult r = sim.run(null);
        assertThat(r.confirmed()).isEqualTo(500);
        expected.addAll(keys(sim.ledger()));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> elk.holdsAll(expected) && storage.holdsAll(expected));
      for (MemorySink sink : List.of(elk, storage)) {
        assertThat(sink.writes.keySet()).as("%s holds exactly the confirmed readings", sink.name()).isEqualTo(expected);
        assertThat(sink.duplicates()).as("%s wrote each reading once", sink.name()).isZero();
        Map<String, String> reasons = new HashMap<>();
        await().atMost(Duration.ofSeconds(10)).until(() -> cloudNode.queueDepths().getOrDefault(n.deadLetterQueue(sink.name()), 0L) == 2);
        for (int i = 0; i < 2; i++) {
          GetResponse dead = cloudCh.basicGet(n.deadLetterQueue(sink.name()), true);
          reasons.put(new String(dead.getBody(), StandardCharsets.UTF_8),
              String.valueOf(dead.getProps().getHeaders().get(Names.REASON_HEADER)));
          assertThat(String.valueOf(dead.getProps().getHeaders().get("x-iotpipe-routing-key"))).isEqualTo(key);
        }
        assertThat(reasons).as("%s: each bad reading dead-lettered alone, its original bytes and its reason", sink.name())
            .containsEntry(new String(forged, StandardCharsets.UTF_8),
                "deviceId victim-01 does not match the publisher's routing key " + key)
            .hasEntrySatisfying(new String(garbage, StandardCharsets.UTF_8), why -> assertThat(why).startsWith("invalid telemetry: "));
      }
      Forwarder.Stats s = forwarder.stats();
      assertThat(s.readingsConfirmed()).isEqualTo(506);
      assertThat(s.batchesConfirmed()).as("readings travelled in batches").isLessThan(s.readingsConfirmed() / 5);
      System.err.printf("WanBatchIT: %d readings crossed in %d batches%n", s.readingsConfirmed(), s.batchesConfirmed());
      // What `iotpipe forward` serves: its health and counters, as an operator's probe and Prometheus read them.
      var http = java.net.http.HttpClient.newHttpClient();
      var healthResp = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + health.port() + "/health")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(healthResp.statusCode()).isEqualTo(200);
      var healthJson = new com.fasterxml.jackson.databind.ObjectMapper().readTree(healthResp.body());
      assertThat(healthJson.path("status").asText()).isEqualTo("UP");
      assertThat(healthJson.path("forwarders").path("edge").path("readingsConfirmed").asLong()).isEqualTo(506);
      String metrics = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + health.port() + "/metrics")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics).contains("iotpipe_forward_readings_total 506").contains("iotpipe_forward_connected 1");

      // 2. The cloud stops confirming (memory alarm: publishing blocked). The edge confirms the devices and keeps
      //    every reading the forwarder took: none is acked before the cloud confirmed its batch.
      String outbound = n.edgeOutbound();
      var edgeNode = nodes.deployment().edge();
      Set<String> later;
      // Restored afterwards to what the shared node had (3.10 and 4.0 default differently).
      String watermark = cloudNode.ctlOrFail("eval", "vm_memory_monitor:get_vm_memory_high_watermark().").strip();
      String restore = watermark.matches("0?\\.\\d+|1\\.0") ? watermark : "0.4";
      cloudNode.ctlOrFail("set_vm_memory_high_watermark", "0");
      try (Simulation sim = Simulation.create(cfg, fleet(cfg, 10, 20))) {
        SimulationResult r = sim.run(null);
        assertThat(r.confirmed()).isEqualTo(200);
        later = keys(sim.ledger());
        AtomicLong taken = new AtomicLong();
        // Longer than the linger many times over: the forwarder has taken and published them, the cloud confirmed none.
        await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.stats().unacked() == 200);
        // rabbitmqctl takes a second or two per call on a busy machine: a generous bound around the 2 s that must hold.
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).until(() -> {
          taken.set(edgeNode.queueDepths().getOrDefault(outbound, -1L));
          return taken.get() == 200 && forwarder.stats().readingsConfirmed() == 506;
        });
        assertThat(elk.writes.keySet()).doesNotContainAnyElementsOf(later);
      } finally {
        cloudNode.ctlOrFail("set_vm_memory_high_watermark", restore);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> elk.holdsAll(later) && storage.holdsAll(later));
      await().atMost(Duration.ofSeconds(10)).until(() -> edgeNode.queueDepths().getOrDefault(outbound, -1L) == 0);
      expected.addAll(later);

      // 3. The forwarder loses its cloud connection while batches wait for their confirms (the broker closes it):
      //    it gives the edge back what it held, reconnects and forwards it again; nothing is lost.
      Set<String> third;
      cloudNode.ctlOrFail("set_vm_memory_high_watermark", "0");
      try (Simulation sim = Simulation.create(cfg, fleet(cfg, 10, 10))) {
        assertThat(sim.run(null).confirmed()).isEqualTo(100);
        third = keys(sim.ledger());
        await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.stats().unacked() == 100);
        io.iotpipe.topology.ManagementClient mc = new io.iotpipe.topology.ManagementClient(cfg.broker("cloud"));
        int closedConnections = 0;
        for (var c : mc.get("connections?columns=name,client_properties")) {
          if (c.path("client_properties").path("connection_name").asText().startsWith("iotpipe-forward")) {
            mc.delete("connections/" + java.net.URLEncoder.encode(c.path("name").asText(), StandardCharsets.UTF_8).replace("+", "%20"));
            closedConnections++;
          }
        }
        assertThat(closedConnections).as("the forwarder's cloud connection").isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> forwarder.stats().reconnects() == 1);
        assertThat(forwarder.stats().lastError()).as("the reason names the broker's").contains("CONNECTION_FORCED");
      } finally {
        cloudNode.ctlOrFail("set_vm_memory_high_watermark", restore);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> elk.holdsAll(third) && storage.holdsAll(third));
      await().atMost(Duration.ofSeconds(10)).until(() -> edgeNode.queueDepths().getOrDefault(outbound, -1L) == 0);
      assertThat(forwarder.stats().connected()).isTrue();
      expected.addAll(third);
      for (MemorySink sink : List.of(elk, storage)) {
        assertThat(sink.writes.keySet()).as("%s: nothing lost, nothing extra", sink.name()).isEqualTo(expected);
        System.err.printf("WanBatchIT: %s wrote %d readings, %d duplicates (redeliveries absorbed)%n", sink.name(),
            sink.writes.size(), sink.duplicates());
      }
    } finally {
      consumers.forEach(c -> c.close(Duration.ofSeconds(5)));
    }
  }
}
