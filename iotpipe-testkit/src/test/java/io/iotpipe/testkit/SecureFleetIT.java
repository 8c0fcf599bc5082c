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
}
