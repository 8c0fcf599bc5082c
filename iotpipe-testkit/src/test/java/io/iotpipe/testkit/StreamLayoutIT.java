package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.broker.BrokerException;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.broker.RabbitDistribution;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.core.config.TopologyConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.topology.TopologyPlanner;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code topology.layout: streams} on a real RabbitMQ 4.0 node (single active consumer on streams needs 3.11 or later;
 * the host's package is 3.10): each partition is one stream, written once, that every sink group reads at its own
 * position; the position is stored only after the sink reported records delivered and survives a restart; when the
 * instance reading the partitions goes away a standby of the same group takes over within seconds, nothing lost or
 * doubled; a reading naming another device than its publisher still lands in its group's dead-letter queue.
 */
class StreamLayoutIT {

  @TempDir
  static Path dir;
  static LocalNode node;
  static final ConsumerSettings SETTINGS = new ConsumerSettings(200, 50, 1 << 20, Duration.ofMillis(20),
      new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1)), new RetryBudget(5, Duration.ofSeconds(10)), Duration.ofSeconds(5));

  @BeforeAll
  static void start() throws Exception {
    RabbitDistribution rabbit4 = RabbitDistribution.withStreams();
    ensureRoot(rabbit4);
    node = LocalNode.create(new LocalNode.Spec("streams" + LocalNodes.prefix(), dir.resolve("node"), false, null, true), rabbit4);
    node.start();
  }

  /**
   * A fresh machine has no RabbitMQ 4.0 root yet: make it with the script the launcher runs (about 45 s once; the root
   * is shared by every checkout afterwards).
   */
  static void ensureRoot(RabbitDistribution rabbit4) throws Exception {
    try {
      rabbit4.ensureInstalled();
    } catch (BrokerException notYet) {
      Path script = Path.of("..", "scripts", "rabbitmq4-root.sh").toAbsolutePath().normalize();
      System.err.println("StreamLayoutIT: making the RabbitMQ " + rabbit4.id() + " root with " + script + " (once per machine)");
      ProcessBuilder pb = new ProcessBuilder(script.toString(), rabbit4.root().toString()).inheritIO()
          .redirectOutput(ProcessBuilder.Redirect.DISCARD);
      pb.environment().put("IOTPIPE_RABBITMQ", rabbit4.id());
      Process p = pb.start();
      assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("rabbitmq4-root.sh finished").isTrue();
      assertThat(p.exitValue()).as("rabbitmq4-root.sh exit code (its reason is printed above)").isZero();
      rabbit4.ensureInstalled();
    }
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.kill();
    }
  }

  static IotpipeConfig applied() {
    return applied("");
  }

  /** @param topologyExtra more lines under {@code topology:} (indented by two spaces) */
  static IotpipeConfig applied(String topologyExtra) {
    IotpipeConfig cfg = IotpipeConfig.parse("streams.yaml", """
        brokers:
          cloud:
            uris: [%s]
            management: %s
            streamUris: [rabbitmq-stream://127.0.0.1:%d]
        topology:
          prefix: %s
          balancer: cloud
          partitions: 2
          sinks: [probe, other, ha]
          layout: streams
        """.formatted(node.amqpUri(), node.managementUri(), node.streamPort(), LocalNodes.prefix()) + topologyExtra, k -> null);
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(cfg, planner.plan(cfg));
    assertThat(planner.plan(cfg).pending()).as("apply leaves nothing to do").isEmpty();
    return cfg;
  }

  /** A sink that durably "stores" each record in {@code stored} (deviceId:seq -> times written). */
  static final class CountingSink implements Sink {
    final String name;
    final Map<String, Integer> stored;
    final Set<String> opened = ConcurrentHashMap.newKeySet();
    volatile boolean hung;

    CountingSink(String name, Map<String, Integer> stored) {
      this.name = name;
      this.stored = stored;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public void open(String partition) {
      opened.add(partition);
    }

    @Override
    public void close(String partition) {
      opened.remove(partition);
    }

    @Override
    public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
      if (hung) {
        return new CompletableFuture<>(); // a sink that never answers: nothing of it may count as delivered
      }
      List<Outcome> out = new ArrayList<>();
      for (SinkRecord r : batch) {
        stored.merge(r.telemetry().deviceId() + ":" + r.telemetry().seq(), 1, Integer::sum);
        out.add(Outcome.DELIVERED);
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void close() {}
  }

  static SinkConsumer consumer(IotpipeConfig cfg, Sink sink) {
    Names n = cfg.topology().names();
    List<String> streams = IntStream.range(0, 2).mapToObj(n::partitionStream).toList();
    return new SinkConsumer(cfg.sinkBroker(), streams, sink, new TelemetryCodec(), SETTINGS, n,
        SloConfig.defaults(List.of(sink.name()), Duration.ofMinutes(1)), new SimpleMeterRegistry(), Duration.ZERO,
        TopologyConfig.Layout.STREAMS, cfg.batchPublisher()).start();
  }

  /**
   * {@code topology.wan.mode: batch} with streams: a batch (as the forwarder publishes it, here by the test as the
   * balancer's user, which the forwarder logs in as without {@code security:}) is stored once in its partition stream;
   * the group unpacks it, stores its readings and dead-letters the one naming another device alone with its reason —
   * the broker-validated {@code user_id} survives the stream protocol. A batch without {@code user_id} is refused whole.
   */
  @Test
  void batchesOfTheForwarderAreUnpackedFromTheStreamReadingByReading() throws Exception {
    IotpipeConfig cfg = applied("  wan: {mode: batch}\n");
    Names n = cfg.topology().names();
    String publisher = cfg.batchPublisher();
    assertThat(publisher).isEqualTo("guest");
    Map<String, Integer> stored = new ConcurrentHashMap<>();
    TelemetryCodec codec = new TelemetryCodec();
    byte[] forged = codec.encode(new Telemetry("victim-01", 1, Instant.now(), "s1", "eu-west", "IDLE", null, Map.of("kw", 1.5)));
    List<io.iotpipe.core.envelope.ReadingBatch.Entry> entries = new ArrayList<>();
    for (long seq = 1; seq <= 3; seq++) {
      entries.add(new io.iotpipe.core.envelope.ReadingBatch.Entry("telemetry.evb-1", 0,
          codec.encode(new Telemetry("evb-1", seq, Instant.now(), "s1", "eu-west", "IDLE", null, Map.of("kw", 1.5)))));
    }
    entries.add(1, new io.iotpipe.core.envelope.ReadingBatch.Entry("telemetry.evb-1", 0, forged));
    byte[] batch = io.iotpipe.core.envelope.ReadingBatch.encode(entries);
    try (Connection c = Amqp.connect(cfg.broker("cloud"), "it-streams-batch"); Channel ch = c.createChannel();
         SinkConsumer probe = consumer(cfg, new CountingSink("probe", stored))) {
      ch.confirmSelect();
      AMQP.BasicProperties.Builder props = new AMQP.BasicProperties.Builder().deliveryMode(2)
          .contentType(io.iotpipe.core.envelope.ReadingBatch.CONTENT_TYPE);
      ch.basicPublish(n.batchExchange(), n.partitionKey(1), true, props.userId(publisher).build(), batch);
      ch.basicPublish(n.batchExchange(), n.partitionKey(0), true, props.userId(null).build(), batch);
      ch.waitForConfirmsOrDie(10_000);
      await().atMost(Duration.ofSeconds(30)).until(() -> stored.size() == 3);
      assertThat(stored).containsOnlyKeys("evb-1:1", "evb-1:2", "evb-1:3").allSatisfy((k, times) -> assertThat(times).isEqualTo(1));
      Map<String, String> reasons = new java.util.HashMap<>();
      for (int i = 0; i < 2; i++) {
        GetResponse dead = await().atMost(Duration.ofSeconds(30)).until(() -> ch.basicGet(n.deadLetterQueue("probe"), true),
            java.util.Objects::nonNull);
        reasons.put(dead.getProps().getContentType() == null ? "reading" : dead.getProps().getContentType(),
            String.valueOf(dead.getProps().getHeaders().get(Names.REASON_HEADER)));
        if ("application/json".equals(dead.getProps().getContentType())) {
          assertThat(dead.getBody()).as("the dead letter holds the original reading").isEqualTo(forged);
        }
      }
      assertThat(reasons).containsEntry("application/json", "deviceId victim-01 does not match the publisher's routing key telemetry.evb-1")
          .containsEntry(io.iotpipe.core.envelope.ReadingBatch.CONTENT_TYPE,
              "a batch whose user_id is missing: only the forwarder account \"guest\" may publish batches");
    }
  }

  /** Publishes readings {@code fromSeq..toSeq} of 20 devices through the hash exchange, with confirms; returns their keys. */
  static Set<String> publish(IotpipeConfig cfg, Channel ch, long fromSeq, long toSeq) throws Exception {
    TelemetryCodec codec = new TelemetryCodec();
    Set<String> keys = ConcurrentHashMap.newKeySet();
    for (long seq = fromSeq; seq <= toSeq; seq++) {
      for (int d = 0; d < 20; d++) {
        String device = "evc-" + d;
        byte[] body = codec.encode(new Telemetry(device, seq, Instant.now(), "s1", "eu-west", "IDLE", null, Map.of("kw", 1.5)));
        ch.basicPublish(cfg.topology().names().cloudIngress(), "telemetry." + device,
            new AMQP.BasicProperties.Builder().deliveryMode(2).headers(Map.of("x-published-at", System.currentTimeMillis())).build(), body);
        keys.add(device + ":" + seq);
      }
    }
    ch.waitForConfirmsOrDie(30_000);
    return keys;
  }

  /** Readings (not position entries) in the partition streams, read from the start with an unnamed consumer. */
  static long readingsIn(IotpipeConfig cfg) {
    java.util.concurrent.atomic.AtomicLong count = new java.util.concurrent.atomic.AtomicLong();
    try (com.rabbitmq.stream.Environment env = com.rabbitmq.stream.Environment.builder()
        .uri("rabbitmq-stream://guest:guest@127.0.0.1:" + node.streamPort() + "/%2f").build()) {
      List<com.rabbitmq.stream.Consumer> readers = IntStream.range(0, 2).mapToObj(p -> env.consumerBuilder()
          .stream(cfg.topology().names().partitionStream(p)).offset(com.rabbitmq.stream.OffsetSpecification.first())
          .messageHandler((ctx, m) -> count.incrementAndGet()).build()).toList();
      // Settles when two reads a second apart agree: a raw reader has no end-of-stream signal.
      long[] last = {-1};
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
        long now = count.get();
        boolean same = now > 0 && now == last[0];
        last[0] = now;
        return same;
      });
      readers.forEach(com.rabbitmq.stream.Consumer::close);
    }
    return count.get();
  }

  @Test
  void eachReadingIsWrittenOnceAndEveryGroupReadsItOnceAndResumesFromItsStoredPosition() throws Exception {
    IotpipeConfig cfg = applied();
    Names n = cfg.topology().names();
    Map<String, Integer> probeStored = new ConcurrentHashMap<>();
    Map<String, Integer> otherStored = new ConcurrentHashMap<>();
    try (Connection c = Amqp.connect(cfg.broker("cloud"), "it-streams"); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      // Published before any group read: a group without a stored position starts at the stream's beginning.
      Set<String> first = publish(cfg, ch, 1, 20);
      // A reading whose body names another device than its publisher's key (an impersonation attempt).
      byte[] forged = new TelemetryCodec().encode(new Telemetry("evc-victim", 1, Instant.now(), "s1", "eu-west", "IDLE", null, Map.of()));
      ch.basicPublish(n.cloudIngress(), "telemetry.evc-attacker", new AMQP.BasicProperties.Builder().deliveryMode(2).build(), forged);
      ch.waitForConfirmsOrDie(30_000);

      CountingSink probe = new CountingSink("probe", probeStored);
      SinkConsumer probeConsumer = consumer(cfg, probe);
      try (SinkConsumer other = consumer(cfg, new CountingSink("other", otherStored))) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          assertThat(probeStored.keySet()).containsExactlyInAnyOrderElementsOf(first);
          assertThat(otherStored.keySet()).containsExactlyInAnyOrderElementsOf(first);
        });
        assertThat(probeStored.values()).as("probe: each reading once").containsOnly(1);
        assertThat(otherStored.values()).as("other: each reading once").containsOnly(1);
        assertThat(probe.opened).containsExactlyInAnyOrder(n.partitionStream(0), n.partitionStream(1));

        // Written once: the two streams hold the 401 readings once (read back raw, from the start, without a group;
        // the queue's message count would also count the groups' stored positions), and there is no queue per sink.
        assertThat(readingsIn(cfg)).isEqualTo(first.size() + 1);
        assertThat(node.queueDepths().keySet()).noneMatch(q -> q.startsWith(n.prefix() + ".probe.") || q.startsWith(n.prefix() + ".other."));

        // The forged reading is dead-lettered once per group, with the reason, and delivered to neither.
        for (String group : List.of("probe", "other")) {
          GetResponse dead = await().atMost(Duration.ofSeconds(30)).until(() -> ch.basicGet(n.deadLetterQueue(group), true),
              r -> r != null);
          assertThat(String.valueOf(dead.getProps().getHeaders().get(Names.REASON_HEADER)))
              .isEqualTo("deviceId evc-victim does not match the publisher's routing key telemetry.evc-attacker");
          assertThat(ch.basicGet(n.deadLetterQueue(group), true)).as("only one dead letter in " + group).isNull();
        }
        assertThat(probeStored).doesNotContainKey("evc-victim:1");

        // probe stops (gracefully); more readings arrive; a new probe instance resumes after its stored position.
        await().atMost(Duration.ofSeconds(10)).until(() -> probeConsumer.stats().pending() == 0);
        probeConsumer.close(Duration.ofSeconds(10));
        Set<String> second = publish(cfg, ch, 21, 25);
        Map<String, Integer> resumed = new ConcurrentHashMap<>();
        try (SinkConsumer again = consumer(cfg, new CountingSink("probe", resumed))) {
          await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(resumed.keySet()).containsAll(second));
          // other keeps reading at its own position meanwhile
          await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(otherStored.keySet()).containsAll(second));
          assertThat(resumed.keySet()).as("no replay of what probe had stored").containsExactlyInAnyOrderElementsOf(second);
          assertThat(resumed.values()).containsOnly(1);
          assertThat(otherStored.values()).containsOnly(1);
        }
      }
    }
  }

  @Test
  void whenTheInstanceReadingThePartitionsGoesAwayAStandbyOfTheGroupTakesOverWithinSecondsNothingLostOrDoubled() throws Exception {
    IotpipeConfig cfg = applied();
    Names n = cfg.topology().names();
    Map<String, Integer> stored = new ConcurrentHashMap<>(); // the group's store, shared by its two instances
    try (Connection c = Amqp.connect(cfg.broker("cloud"), "it-streams-ha"); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      CountingSink a = new CountingSink("ha", stored);
      SinkConsumer first = consumer(cfg, a);
      await().atMost(Duration.ofSeconds(30)).until(() -> a.opened.size() == 2);
      CountingSink b = new CountingSink("ha", stored);
      try (SinkConsumer standby = consumer(cfg, b)) {
        await().atMost(Duration.ofSeconds(30)).until(() -> standby.stats().connected());
        Set<String> all = publish(cfg, ch, 1, 10);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(stored.keySet()).containsAll(all));
        assertThat(b.opened).as("the standby reads nothing while the first instance is alive").isEmpty();

        // The first instance's sink stops answering: what it receives now is never delivered, so never stored.
        a.hung = true;
        long before = first.stats().received();
        all.addAll(publish(cfg, ch, 11, 15));
        await().atMost(Duration.ofSeconds(30)).until(() -> first.stats().received() > before);
        long gone = System.nanoTime();
        first.close(Duration.ZERO); // the instance goes away without settling what it held
        await().atMost(Duration.ofSeconds(10)).until(() -> b.opened.size() == 2);
        long takeoverMs = (System.nanoTime() - gone) / 1_000_000;
        System.err.println("StreamLayoutIT: the standby read both partitions " + takeoverMs + " ms after the first instance went away");
        all.addAll(publish(cfg, ch, 16, 20));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(all));
        assertThat(stored.values()).as("nothing doubled").containsOnly(1);
      }
    }
  }
}
