package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import io.iotpipe.runtime.dlq.DeadLetters;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promises of the README, end to end on real RabbitMQ nodes and a real OpenSearch: every confirmed reading is
 * searchable and stored exactly once, through process kills, an engine outage and a broker restart; bad input ends
 * in the dead-letter queue with its reason.
 */
class PipelineIT {

  @TempDir
  static Path dir;
  static LocalStack stack;

  @BeforeAll
  static void start() {
    stack = LocalStack.start(dir, 1, 4, "  rollAge: 3s", true, System.err::println);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  static IotpipeConfig pipeline() {
    String prefix = "p" + UUID.randomUUID().toString().substring(0, 8);
    return stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml");
  }

  static Path file(IotpipeConfig cfg) {
    return dir.resolve(cfg.topology().prefix() + ".yaml");
  }

  static Simulation simulation(IotpipeConfig cfg, int devices, double rate, Duration duration) {
    return Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(devices, rate, duration, 0)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP));
  }

  /**
   * Runs a simulation on a thread of its own. Not {@code CompletableFuture.supplyAsync}: blocking the common pool's
   * only thread (2 cores) for the whole run starves the JDK HttpClient of the indexer.
   */
  static CompletableFuture<SimulationResult> runAsync(Simulation sim) {
    CompletableFuture<SimulationResult> f = new CompletableFuture<>();
    Thread.ofPlatform().name("simulation").daemon().start(() -> {
      try {
        f.complete(sim.run(null));
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
      }
    });
    return f;
  }

  /** Waits until both sinks hold every confirmed reading, then checks nothing is missing or doubled. */
  static void assertExactlyOnce(IotpipeConfig cfg, Ledger ledger, Duration atMost) {
    await().atMost(atMost).pollInterval(Duration.ofSeconds(1)).until(() ->
        Auditor.search(cfg.indexer(), ledger).lost() == 0 && Auditor.store(cfg.storage().dir(), ledger).lost() == 0);
    Completeness.Result es = Auditor.search(cfg.indexer(), ledger);
    Completeness.Result st = Auditor.store(cfg.storage().dir(), ledger);
    assertThat(es.expected()).isEqualTo(ledger.confirmed());
    assertThat(es.lost()).as("lost in search: %s", es.examples()).isZero();
    assertThat(es.duplicates()).as("duplicates in search").isZero();
    assertThat(st.lost()).as("lost in store: %s", st.examples()).isZero();
    assertThat(st.duplicates()).as("duplicates in store").isZero();
  }

  @Test
  void twoInstancesPerRoleSurviveSigtermAndKillMinus9WithNothingLostOrDoubled() throws Exception {
    IotpipeConfig cfg = pipeline();
    Path f = file(cfg);
    List<RoleProcess> all = new ArrayList<>();
    try (Simulation sim = simulation(cfg, 100, 400, Duration.ofSeconds(30))) {
      RoleProcess store1 = new RoleProcess("store", f, "store-1", dir).start();
      RoleProcess store2 = new RoleProcess("store", f, "store-2", dir).start();
      RoleProcess index1 = new RoleProcess("index", f, "index-1", dir).start();
      RoleProcess index2 = new RoleProcess("index", f, "index-2", dir).start();
      all.addAll(List.of(store1, store2, index1, index2));
      CompletableFuture<SimulationResult> run = runAsync(sim);
      await().atMost(Duration.ofSeconds(60)).until(() -> sim.progress().confirmed() > 2500);
      assertThat(store1.terminate(90)).as("store-1 stops on SIGTERM").isTrue();
      index1.kill();
      await().atMost(Duration.ofSeconds(60)).until(() -> sim.progress().confirmed() > 5000);
      store2.kill(); // mid-file: rows buffered, not committed, not acked
      store1.start();
      index1.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> sim.progress().confirmed() > 8000);
      assertThat(index2.terminate(90)).as("index-2 stops on SIGTERM").isTrue();
      store2.start();
      SimulationResult r = run.get();
      assertThat(r.unconfirmed()).isZero();
      assertExactlyOnce(cfg, sim.ledger(), Duration.ofSeconds(120));
    } finally {
      for (RoleProcess i : all) {
        i.kill();
      }
    }
  }

  @Test
  void anOpenSearchOutageUnderLoadLosesNothingAndTheIndexerCatchesUpWithoutARestart() throws Exception {
    IotpipeConfig cfg = pipeline();
    try (PipelineRunner runner = new PipelineRunner(cfg, Role.configured(cfg), "it", new SimpleMeterRegistry()).start();
         Simulation sim = simulation(cfg, 50, 300, Duration.ofSeconds(40))) {
      CompletableFuture<SimulationResult> run = runAsync(sim);
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(runner.stats().get(Role.of("index")).delivered())
          .as("indexed; simulation %s; stats %s", sim.progress(), runner.stats()).isGreaterThan(1000));
      long storedBefore = runner.stats().get(Role.of("store")).delivered();
      long down = System.nanoTime();
      stack.search().kill(); // the engine crashes: in-flight bulks fail, nothing unacknowledged may be acked
      // The storage path keeps going while the search engine is down: one slow sink never blocks the other.
      await().atMost(Duration.ofSeconds(30)).until(() -> runner.stats().get(Role.of("store")).delivered() > storedBefore + 500);
      // Keep the engine down for at least 10 s of load, then bring it back; the same indexer must catch up.
      await().atMost(Duration.ofSeconds(30)).until(() -> System.nanoTime() - down > 10_000_000_000L
          && runner.stats().get(Role.of("index")).retries() > 0);
      assertThat(runner.stats().get(Role.of("index")).connected()).as("the indexer keeps its queues while the engine is down").isTrue();
      stack.search().start();
      run.get();
      assertExactlyOnce(cfg, sim.ledger(), Duration.ofSeconds(120));
    }
  }

  @Test
  void consumersResumeByThemselvesAfterTheCloudBrokerRestarts() throws Exception {
    IotpipeConfig cfg = pipeline();
    try (PipelineRunner runner = new PipelineRunner(cfg, Role.configured(cfg), "it", new SimpleMeterRegistry()).start();
         Simulation sim = simulation(cfg, 50, 300, Duration.ofSeconds(25))) {
      CompletableFuture<SimulationResult> run = runAsync(sim);
      await().atMost(Duration.ofSeconds(30)).until(() -> runner.stats().get(Role.of("store")).delivered() > 1000);
      stack.brokers().cloud().node(0).stop();
      stack.brokers().cloud().node(0).start();
      run.get();
      assertExactlyOnce(cfg, sim.ledger(), Duration.ofSeconds(120));
      assertThat(runner.stats().get(Role.of("index")).reconnects()).isGreaterThan(1);
    }
  }

  @Test
  void badInputGoesToTheDeadLetterQueueWithItsReasonAndGoodInputStillFlows() throws Exception {
    IotpipeConfig cfg = pipeline();
    Names n = cfg.topology().names();
    // One day's index was created by hand with strict metrics: a valid reading of that day is a mapping conflict.
    EsClient es = new EsClient(cfg.indexer());
    EsClient.Response created = es.sendSync("PUT", "/" + cfg.indexer().indexPrefix() + "-2026.01.01",
        "{\"mappings\":{\"properties\":{\"metrics\":{\"type\":\"object\",\"dynamic\":\"strict\"}}}}");
    assertThat(created.status()).as(created.text()).isEqualTo(200);
    Map<String, String> bad = new HashMap<>();
    bad.put("not json", "{this is not json");
    bad.put("missing seq", "{\"v\":1,\"deviceId\":\"bad-1\",\"ts\":\"2026-11-20T10:00:00Z\",\"metrics\":{}}");
    bad.put("wrong type", "{\"v\":1,\"deviceId\":\"bad-2\",\"seq\":\"seven\",\"ts\":\"2026-11-20T10:00:00Z\",\"metrics\":{}}");
    bad.put("absurd number", "{\"v\":1,\"deviceId\":\"bad-3\",\"seq\":1,\"ts\":\"2026-11-20T10:00:00Z\",\"metrics\":{\"powerKw\":\"NaN\"}}");
    // A device publishing a reading in another device's name, on a broker without topic permissions.
    String spoofed = "{\"v\":1,\"deviceId\":\"victim-01\",\"seq\":1,\"ts\":\"2026-11-20T10:00:00Z\",\"metrics\":{\"powerKw\":1.0}}";
    String conflict = "{\"v\":1,\"deviceId\":\"conflict-1\",\"seq\":1,\"ts\":\"2026-01-01T10:00:00Z\",\"metrics\":{\"powerKw\":3.5}}";
    try (var c = Amqp.connect(cfg.broker("cloud"), "it-bad"); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      for (String body : bad.values()) {
        ch.basicPublish(n.cloudIngress(), "telemetry.bad", new AMQP.BasicProperties.Builder().deliveryMode(2).build(),
            body.getBytes(StandardCharsets.UTF_8));
      }
      ch.basicPublish(n.cloudIngress(), "telemetry.attacker-1", new AMQP.BasicProperties.Builder().deliveryMode(2).build(),
          spoofed.getBytes(StandardCharsets.UTF_8));
      ch.basicPublish(n.cloudIngress(), "telemetry.conflict-1", new AMQP.BasicProperties.Builder().deliveryMode(2).build(),
          conflict.getBytes(StandardCharsets.UTF_8));
      ch.waitForConfirmsOrDie(10_000);
    }
    try (PipelineRunner runner = new PipelineRunner(cfg, Role.configured(cfg), "it", new SimpleMeterRegistry()).start();
         Simulation sim = simulation(cfg, 20, 400, Duration.ofSeconds(5))) {
      sim.run(null);
      assertExactlyOnce(cfg, sim.ledger(), Duration.ofSeconds(60));
      // Search: the four contract violations, the spoofed reading and the mapping conflict; storage: all but the last.
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        assertThat(reasons(cfg, "elk")).as("stats %s", runner.stats()).hasSize(6);
        assertThat(reasons(cfg, "storage")).hasSize(5);
      });
      String spoofReason = "deviceId victim-01 does not match the publisher's routing key telemetry.attacker-1";
      assertThat(reasons(cfg, "elk")).contains(spoofReason);
      assertThat(reasons(cfg, "storage")).contains(spoofReason);
      List<String> elk = reasons(cfg, "elk");
      assertThat(elk).anySatisfy(r -> assertThat(r).contains("strict_dynamic_mapping_exception"));
      assertThat(elk).anySatisfy(r -> assertThat(r).containsIgnoringCase("json"));
      assertThat(elk).anySatisfy(r -> assertThat(r).contains("seq"));
      List<String> storage = reasons(cfg, "storage");
      assertThat(storage).filteredOn(r -> r.contains("strict_dynamic")).isEmpty();

      // The operator fixes the cause (drops the hand-made index) and replays: the reading lands, exactly once.
      String day = cfg.indexer().indexPrefix() + "-2026.01.01";
      assertThat(es.sendSync("DELETE", "/" + day, null).status()).isEqualTo(200);
      try (DeadLetters dl = new DeadLetters(cfg.sinkBroker(), n)) {
        assertThat(dl.replay("elk", 100, l -> l.reason().contains("strict_dynamic"))).isEqualTo(1);
      }
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        es.sendSync("POST", "/" + day + "/_refresh", null);
        assertThat(es.sendSync("GET", "/" + day + "/_count", null).text()).contains("\"count\":1,");
        assertThat(reasons(cfg, "elk")).hasSize(5);
      });
    }
  }

  /** Reasons of the messages in a sink's dead-letter queue (left in place). */
  static List<String> reasons(IotpipeConfig cfg, String sink) throws Exception {
    List<String> out = new ArrayList<>();
    try (var c = Amqp.connect(cfg.broker("cloud"), "it-dlq"); Channel ch = c.createChannel()) {
      GetResponse r;
      while ((r = ch.basicGet(cfg.topology().names().deadLetterQueue(sink), false)) != null) {
        Object reason = r.getProps().getHeaders() == null ? null : r.getProps().getHeaders().get(Names.REASON_HEADER);
        out.add(String.valueOf(reason));
      }
    }
    return out;
  }
}
