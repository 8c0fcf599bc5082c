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
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime's retry budget and health on real queues: a poison message among good ones goes to the dead-letter queue
 * with {@code retries exhausted} while everything else is delivered; a two-minute search outage with a 30 s budget
 * dead-letters nothing, shows DEGRADED meanwhile and UP after, and every reading ends up indexed once.
 */
class SinkRuntimeIT {

  @TempDir
  static Path dir;
  static LocalStack stack;

  @BeforeAll
  static void start() {
    stack = LocalStack.start(dir, 1, 2, "", true, System.err::println);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  /** A sink that durably "stores" every record except the first one with seq 5 it sees, which always fails. */
  static final class OnePoisonSink implements Sink {
    final Map<String, Integer> stored = new ConcurrentHashMap<>();
    final Set<String> opened = ConcurrentHashMap.newKeySet();
    final AtomicReference<String> poison = new AtomicReference<>();

    @Override
    public String name() {
      return "elk";
    }

    @Override
    public void open(String partition) {
      opened.add(partition);
    }

    @Override
    public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
      List<Outcome> out = new ArrayList<>();
      for (SinkRecord r : batch) {
        String key = r.telemetry().deviceId() + ":" + r.telemetry().seq();
        if (r.telemetry().seq() == 5) {
          poison.compareAndSet(null, key);
        }
        if (key.equals(poison.get())) {
          out.add(Outcome.retry("HTTP 500 from the engine for this document"));
        } else {
          stored.merge(key, 1, Integer::sum);
          out.add(Outcome.DELIVERED);
        }
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public void close() {}
  }

  @Test
  void aMessageThatKeepsFailingWhileOthersSucceedIsDeadLetteredWithinItsBudgetAndThePartitionMovesOn() throws Exception {
    String prefix = LocalNodes.prefix();
    IotpipeConfig cfg = stack.pipeline(prefix, "", prefix + ".yaml");
    Names n = cfg.topology().names();
    ConsumerSettings settings = new ConsumerSettings(200, 50, 1 << 20, Duration.ofMillis(20),
        new Backoff(Duration.ofMillis(100), Duration.ofMillis(500)), new RetryBudget(5, Duration.ofSeconds(3)), Duration.ofSeconds(5));
    OnePoisonSink sink = new OnePoisonSink();
    List<String> queues = IntStream.range(0, 2).mapToObj(p -> n.sinkQueue("elk", p)).toList();
    try (SinkConsumer consumer = new SinkConsumer(cfg.sinkBroker(), queues, sink, new TelemetryCodec(), settings, n,
        new SimpleMeterRegistry()).start();
         // Readings keep flowing for 10 s while the poison one is retried: 20 devices, 40 readings/s.
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(20, 40, Duration.ofSeconds(10), 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP));
         var c = Amqp.connect(cfg.broker("cloud"), "it-poison"); Channel ch = c.createChannel()) {
      SimulationResult result = sim.run(null);
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(consumer.stats().deadLettered()).as("stats %s", consumer.stats()).isEqualTo(1));
      await().atMost(Duration.ofSeconds(30)).until(() -> consumer.stats().pending() == 0);
      assertThat(sink.opened).containsExactlyInAnyOrderElementsOf(queues);
      assertThat(sink.stored).hasSize((int) result.confirmed() - 1).doesNotContainKey(sink.poison.get());
      assertThat(sink.stored.values()).as("each delivered once").containsOnly(1);
      GetResponse dead = ch.basicGet(n.deadLetterQueue("elk"), true);
      assertThat(dead).isNotNull();
      assertThat(String.valueOf(dead.getProps().getHeaders().get(Names.REASON_HEADER)))
          .isEqualTo("retries exhausted: HTTP 500 from the engine for this document");
      String[] poison = sink.poison.get().split(":");
      assertThat(new String(dead.getBody(), StandardCharsets.UTF_8)).contains("\"deviceId\":\"" + poison[0] + "\"")
          .contains("\"seq\":5");
      assertThat(consumer.health().state()).isEqualTo(SinkHealth.State.UP);
    }
  }

  @Test
  void aSearchOutageFourTimesTheRetryBudgetDeadLettersNothingIsReportedDegradedAndEverythingIsIndexedOnceAfter() throws Exception {
    String prefix = LocalNodes.prefix();
    IotpipeConfig cfg = stack.pipeline(prefix, "", prefix + ".yaml", yaml -> yaml.replace("  indexPrefix: " + prefix + "\n",
        "  indexPrefix: " + prefix + "\n  consumer:\n    retry: {attempts: 3, time: 10s}\n    degradedAfter: 5s\n"
            + "    backoff: {initial: 200ms, max: 5s}\n"));
    assertThat(cfg.indexer().consumer().retry()).isEqualTo(new RetryBudget(3, Duration.ofSeconds(10)));
    try (PipelineRunner runner = new PipelineRunner(cfg, java.util.Set.of(Role.of("index")), "it", new SimpleMeterRegistry()).start();
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(20, 20, Duration.ofSeconds(60), 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      SinkConsumer indexer = runner.consumers().get(Role.of("index"));
      CompletableFuture<SimulationResult> run = new CompletableFuture<>();
      Thread.ofPlatform().daemon().start(() -> run.complete(sim.run(null)));
      await().atMost(Duration.ofSeconds(60)).until(() -> indexer.stats().delivered() > 100);

      stack.search().kill();
      long down = System.nanoTime();
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(indexer.health().state()).isEqualTo(SinkHealth.State.DEGRADED));
      assertThat(indexer.health().reason()).as("the reason names the failure").containsAnyOf("writes failing", "search engine failing")
          .contains("refused");
      // 40 s without the engine: four times the retry budget's time, many times its attempts (the budget is what an
      // outage must never exhaust into the dead-letter queue; its length relative to the budget is what matters).
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
          .until(() -> System.nanoTime() - down >= Duration.ofSeconds(40).toNanos());
      assertThat(indexer.health().state()).as("still only degraded: nothing is lost").isEqualTo(SinkHealth.State.DEGRADED);
      assertThat(indexer.stats().deadLettered()).as("an outage dead-letters nothing").isZero();
      stack.search().start();

      SimulationResult result = run.get();
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1))
          .until(() -> Auditor.search(cfg.indexer(), sim.ledger()).lost() == 0);
      Completeness.Result es = Auditor.search(cfg.indexer(), sim.ledger());
      assertThat(es.expected()).isEqualTo(result.confirmed()).isPositive();
      assertThat(es.duplicates()).isZero();
      assertThat(indexer.stats().deadLettered()).isZero();
      await().atMost(Duration.ofSeconds(30)).until(() -> indexer.health().state() == SinkHealth.State.UP);
    }
  }
}
