package io.iotpipe.testkit;

import io.iotpipe.simulator.DeviceCredentials;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.security.Enrollment;
import io.iotpipe.security.SecureLocalStack;
import io.iotpipe.topology.ServiceAccounts;
import io.iotpipe.topology.TopologyPlanner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Simulated devices as real ones: each its own TLS connection and certificate, on a secured stack, without a thread each. */
class SecureFleetIT {

  static final int PARTITIONS = 2;
  @TempDir
  static Path dir;
  static SecureLocalStack stack;
  static IotpipeConfig admin;

  @BeforeAll
  static void start() {
    stack = SecureLocalStack.start(dir, 1, "iotpipe", List.of("elk", "storage"));
    admin = IotpipeConfig.parse("secure", stack.configYaml(stack.adminUser(), PARTITIONS, null), stack.env(stack.adminUser()));
    TopologyPlanner p = new TopologyPlanner();
    p.apply(admin, p.plan(admin));
    // The shovel runs as its own least-privilege account, not as the administrator the config logs in as; a second
    // plan finds nothing to do (the shovel's stored URI is what the compiler declares).
    assertThat(stack.shovelUsers(admin)).containsExactly(java.util.Map.entry("iotpipe.edge-to-cloud", "iotpipe-shovel"));
    assertThat(p.plan(admin).pending()).isEmpty();
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  static Simulation.Options options(int devices, long perDevice) {
    return options(devices, perDevice, SimulatorConfig.Protocol.AMQP);
  }

  static Simulation.Options options(int devices, long perDevice, SimulatorConfig.Protocol protocol) {
    return Simulation.Options.from(admin.simulator()).with(devices, 2000, null, perDevice)
        .withProfile(SimulatorConfig.LoadShape.FLAT, protocol);
  }

  long depth(String sink) {
    Map<String, Long> d = stack.nodes().cloud().node(0).queueDepths();
    long n = 0;
    for (int p = 0; p < PARTITIONS; p++) {
      n += d.getOrDefault(admin.topology().names().sinkQueue(sink, p), 0L);
    }
    return n;
  }

  @Test
  void everyDeviceConnectsWithItsOwnCertificateAndItsReadingsArriveThroughTheSecuredShovel() {
    Simulation.Options o = options(300, 5);
    List<String> ids = Simulation.deviceIds(o);
    long elkBefore = depth("elk");
    long storageBefore = depth("storage");
    stack.enrollDevices(ids, Enrollment.Credential.CERTIFICATE);
    int threadsBefore = Thread.activeCount();
    try (Simulation sim = Simulation.create(admin, o, new DeviceCredentials(stack.pki().caCert(), stack.clientsDir()), null)) {
      int threadsConnected = Thread.activeCount();
      // 300 devices, 300 TLS connections: a few shared I/O threads, not one per device.
      assertThat(threadsConnected - threadsBefore).isLessThan(20);
      String conns = stack.nodes().edge().ctlOrFail("list_connections", "--no-table-headers", "user", "auth_mechanism", "ssl");
      List<String> lines = conns.lines().filter(l -> l.startsWith("evc-")).toList();
      assertThat(lines).hasSize(300).allMatch(l -> l.contains("EXTERNAL") && l.contains("true"));
      assertThat(lines.stream().map(l -> l.split("\\s+")[0]).distinct().toList()).containsExactlyInAnyOrderElementsOf(ids);
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isEqualTo(1500);
      assertThat(r.failed()).isZero();
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> depth("elk") - elkBefore >= 1500 && depth("storage") - storageBefore >= 1500);
    assertThat(depth("elk") - elkBefore).isEqualTo(1500);
    // The shovel is connected to the cloud as its least-privilege account, not as the administrator.
    String cloudConns = stack.nodes().cloud().node(0).ctlOrFail("list_connections", "--no-table-headers", "user", "ssl");
    assertThat(cloudConns).contains(ServiceAccounts.shovel(admin.topology().names())).doesNotContain(stack.adminUser());
  }

  @Test
  void mqttDevicesEachWithTheirOwnCertificateAndConnection() {
    Simulation.Options o = options(200, 5, SimulatorConfig.Protocol.MQTT);
    List<String> ids = Simulation.deviceIds(o);
    stack.enrollDevices(ids, Enrollment.Credential.CERTIFICATE);
    long before = depth("elk");
    int threadsBefore = Thread.activeCount();
    try (Simulation sim = Simulation.create(admin, o, new DeviceCredentials(stack.pki().caCert(), stack.clientsDir()), null)) {
      assertThat(Thread.activeCount() - threadsBefore).isLessThan(20);
      // The management API lists MQTT connections too (its figures lag by a few seconds, hence the wait).
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        List<com.fasterxml.jackson.databind.JsonNode> mine = new java.util.ArrayList<>();
        stack.edgeApi().require("GET", "connections?columns=user,protocol,ssl", null).forEach(c -> {
          if (c.path("user").asText().startsWith("evc-" + o.runId())) {
            mine.add(c);
          }
        });
        assertThat(mine).hasSize(200).allMatch(c -> c.path("protocol").asText().contains("MQTT") && c.path("ssl").asBoolean());
        assertThat(mine.stream().map(c -> c.path("user").asText()).distinct().toList()).containsExactlyInAnyOrderElementsOf(ids);
      });
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isEqualTo(1000);
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> depth("elk") - before >= 1000);
    assertThat(depth("elk") - before).isEqualTo(1000);
  }

  @Test
  void aDeviceThatIsNotEnrolledCannotJoinTheFleet() {
    Simulation.Options o = options(3, 1);
    // Certificates exist, but the broker users do not: the broker refuses the certificate login.
    for (String id : Simulation.deviceIds(o)) {
      stack.pki().issueClient(id);
    }
    assertThatThrownBy(() -> Simulation.create(admin, o, new DeviceCredentials(stack.pki().caCert(), stack.clientsDir()), null).close())
        .hasMessageContaining("is it enrolled");
  }

  /**
   * {@code topology.wan.mode: batch} on the secured stack: the forwarder logs in to both brokers as its own account
   * (password and client certificate of its own), devices' readings arrive in both sink groups, and no other account
   * can write a batch: a sink account is refused on the batch exchange, and a {@code user_id} naming the forwarder is
   * refused by the broker on anyone else's connection.
   */
  @Test
  void theForwarderRunsAsItsOwnAccountAndNoOtherAccountCanPublishABatch() throws Exception {
    String prefix = LocalNodes.prefix();
    stack.addPipeline(prefix, List.of("elk", "storage"));
    String forwarderAccount = prefix + "-forward";
    stack.pki().issueClient(forwarderAccount);
    java.util.function.UnaryOperator<String> batch = y -> y.replace("  queueType: quorum\n",
        "  queueType: quorum\n  wan: {mode: batch, linger: 100ms}\n");
    IotpipeConfig cfg = IotpipeConfig.parse("secure-batch", batch.apply(stack.configYaml(prefix, stack.adminUser(), PARTITIONS, null)),
        stack.env(stack.adminUser()));
    TopologyPlanner p = new TopologyPlanner();
    p.apply(cfg, p.plan(cfg));
    assertThat(p.plan(cfg).pending()).isEmpty();
    assertThat(cfg.batchPublisher()).isEqualTo(forwarderAccount);
    var n = cfg.topology().names();
    var settings = new io.iotpipe.core.config.ConsumerSettings(200, 200, 1 << 20, Duration.ofMillis(20),
        new io.iotpipe.core.retry.Backoff(Duration.ofMillis(100), Duration.ofSeconds(1)),
        new io.iotpipe.core.retry.RetryBudget(5, Duration.ofSeconds(5)), Duration.ofSeconds(10));
    List<WanBatchIT.MemorySink> sinks = List.of(new WanBatchIT.MemorySink("elk"), new WanBatchIT.MemorySink("storage"));
    List<io.iotpipe.runtime.consume.SinkConsumer> consumers = new java.util.ArrayList<>();
    Simulation.Options o = options(10, 20);
    stack.enrollDevices(prefix, Simulation.deviceIds(o), Enrollment.Credential.CERTIFICATE);
    try (var forwarder = io.iotpipe.runtime.forward.Forwarder.of(cfg, "edge").start()) {
      for (var sink : sinks) {
        consumers.add(new io.iotpipe.runtime.consume.SinkConsumer(cfg.sinkBroker(),
            java.util.stream.IntStream.range(0, PARTITIONS).mapToObj(i -> n.sinkQueue(sink.name(), i)).toList(), sink,
            new io.iotpipe.core.envelope.TelemetryCodec(), settings, n,
            io.iotpipe.core.config.SloConfig.defaults(List.of(sink.name()), Duration.ofMinutes(1)),
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), Duration.ZERO,
            io.iotpipe.core.config.TopologyConfig.Layout.QUEUES, cfg.batchPublisher()).start());
      }
      java.util.Set<String> expected;
      try (Simulation sim = Simulation.create(cfg, o, new DeviceCredentials(stack.pki().caCert(), stack.clientsDir()), null)) {
        assertThat(sim.run(null).confirmed()).isEqualTo(200);
        expected = WanBatchIT.keys(sim.ledger());
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> sinks.stream().allMatch(s -> s.holdsAll(expected)));
      for (var sink : sinks) {
        assertThat(sink.writes.keySet()).as(sink.name()).isEqualTo(expected);
      }
      assertThat(forwarder.stats().batchesConfirmed()).isLessThan(200);
      for (var node : List.of(stack.nodes().edge(), stack.nodes().cloud().node(0))) {
        assertThat(node.ctlOrFail("list_connections", "--no-table-headers", "user", "ssl").lines()
            .filter(l -> l.startsWith(forwarderAccount)).toList()).as("the forwarder on " + node).singleElement()
            .satisfies(l -> assertThat(l).contains("true"));
      }
    } finally {
      consumers.forEach(c -> c.close(Duration.ofSeconds(5)));
    }
    // Another account on the cloud: the elk sink's (least privilege: writes only the dead-letter exchange).
    String elkAccount = prefix + "-elk";
    IotpipeConfig asElk = IotpipeConfig.parse("secure-elk", stack.configYaml(prefix, elkAccount, PARTITIONS, null), stack.env(elkAccount));
    byte[] forged = io.iotpipe.core.envelope.ReadingBatch.encode(List.of(new io.iotpipe.core.envelope.ReadingBatch.Entry(
        "telemetry.victim-01", 0, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().contentType(io.iotpipe.core.envelope.ReadingBatch.CONTENT_TYPE);
    try (var c = io.iotpipe.rabbitmq.Amqp.connect(asElk.broker("cloud"), "it-forger")) {
      var ch = c.createChannel();
      ch.confirmSelect();
      ch.basicPublish(n.batchExchange(), n.partitionKey(0), props.userId(elkAccount).build(), forged);
      assertThatThrownBy(() -> ch.waitForConfirmsOrDie(10_000)).hasStackTraceContaining("ACCESS_REFUSED")
          .hasStackTraceContaining(n.batchExchange());
      var ch2 = c.createChannel();
      ch2.confirmSelect();
      ch2.basicPublish(n.deadLetterExchange(), "elk", props.userId(forwarderAccount).build(), forged);
      assertThatThrownBy(() -> ch2.waitForConfirmsOrDie(10_000)).hasStackTraceContaining("PRECONDITION_FAILED")
          .hasStackTraceContaining("user_id");
    }
  }
}
