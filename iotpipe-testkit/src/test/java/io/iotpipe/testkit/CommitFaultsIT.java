package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.storage.CommitSteps;
import io.iotpipe.storage.StorageSink;
import io.iotpipe.storage.StoreQuery;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The storage commit protocol against a real queue: a failure, and a crash, injected at every step of a commit
 * (temp write, fsync, record, link = commit point, log-dir fsync, rename, data-dir fsync). After recovery — the
 * runtime's retry for a failure; a new process consuming the redelivered messages for a crash — every reading is in
 * the store exactly once and the partition queues are empty.
 */
class CommitFaultsIT {

  @RegisterExtension
  static final LocalNodes nodes = LocalNodes.cloud(1);

  static final int DEVICES = 10;
  static final int PER_DEVICE = 10;
  static final List<CommitSteps.Step> STEPS = List.of(CommitSteps.Step.values());

  /** Thrown by the hook to stop a commit where a crash would: no cleanup code catches an Error. */
  static final class Crash extends Error {
    Crash(CommitSteps.Step step) {
      super("simulated crash before " + step);
    }
  }

  static IotpipeConfig pipeline(Path store) {
    IotpipeConfig cfg = nodes.config(2, y -> y + "storage:\n  dir: " + store + "\n  rollAge: 1s\n  compaction: {enabled: false}\n");
    var planner = new io.iotpipe.topology.TopologyPlanner();
    planner.apply(cfg, planner.plan(cfg));
    return cfg;
  }

  static void publish(IotpipeConfig cfg) throws Exception {
    Instant ts = Instant.now().minusSeconds(60);
    try (var c = Amqp.connect(cfg.broker("cloud"), "it-commit-faults"); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      for (int s = 1; s <= PER_DEVICE; s++) {
        for (int d = 0; d < DEVICES; d++) {
          String body = "{\"v\":1,\"deviceId\":\"cf-%d\",\"seq\":%d,\"ts\":\"%s\",\"metrics\":{\"powerKw\":%d.5}}"
              .formatted(d, s, ts.plusSeconds(s), s);
          ch.basicPublish(cfg.topology().names().cloudIngress(), "telemetry.cf-" + d,
              new AMQP.BasicProperties.Builder().deliveryMode(2).build(), body.getBytes(StandardCharsets.UTF_8));
        }
      }
      ch.waitForConfirmsOrDie(30_000);
    }
  }

  static SinkConsumer consumer(IotpipeConfig cfg, StorageSink sink) {
    Names n = cfg.topology().names();
    List<String> queues = IntStream.range(0, 2).mapToObj(p -> n.sinkQueue("storage", p)).toList();
    ConsumerSettings settings = new ConsumerSettings(200, 200, 1 << 20, Duration.ofMillis(5),
        new Backoff(Duration.ofMillis(100), Duration.ofMillis(500)), RetryBudget.DEFAULT, Duration.ofSeconds(10));
    return new SinkConsumer(cfg.sinkBroker(), queues, sink, new TelemetryCodec(), settings, n, new SimpleMeterRegistry()).start();
  }

  static long waiting(IotpipeConfig cfg) {
    var d = nodes.deployment().cloud().node(0).queueDepths();
    return d.getOrDefault(cfg.topology().names().sinkQueue("storage", 0), 0L)
        + d.getOrDefault(cfg.topology().names().sinkQueue("storage", 1), 0L);
  }

  static void assertExactlyOnce(Path store) throws Exception {
    try (StoreQuery q = new StoreQuery(store); Statement st = q.connection().createStatement();
         ResultSet rs = st.executeQuery("SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry")) {
      rs.next();
      assertThat(rs.getLong(2)).as("every reading present").isEqualTo(DEVICES * PER_DEVICE);
      assertThat(rs.getLong(1)).as("none twice").isEqualTo(DEVICES * PER_DEVICE);
    }
  }

  @ParameterizedTest
  @EnumSource(value = CommitSteps.Step.class, names = "UPKEEP", mode = EnumSource.Mode.EXCLUDE)
  void aFailureAtAnyStepEndsWithEveryReadingStoredOnce(CommitSteps.Step step) throws Exception {
    Path store = Files.createTempDirectory(nodes.dir(), "store-");
    IotpipeConfig cfg = pipeline(store);
    publish(cfg);
    AtomicBoolean fired = new AtomicBoolean();
    CommitSteps faults = (s, path) -> {
      if (s == step && fired.compareAndSet(false, true)) {
        throw new IOException("injected failure before " + s);
      }
    };
    try (StorageSink sink = StorageSink.withFaults(cfg.storage(), Clock.systemUTC(), new SimpleMeterRegistry(), faults);
         SinkConsumer c = consumer(cfg, sink)) {
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
          .until(() -> c.stats().pending() == 0 && waiting(cfg) == 0);
      assertThat(fired).as("the fault was injected").isTrue();
      assertThat(c.stats().deadLettered()).as("a transient disk failure is never dead-lettered").isZero();
    }
    assertExactlyOnce(store);
  }

  @ParameterizedTest
  @EnumSource(value = CommitSteps.Step.class, names = "UPKEEP", mode = EnumSource.Mode.EXCLUDE)
  void aCrashAtAnyStepEndsWithEveryReadingStoredOnceAfterRestart(CommitSteps.Step step) throws Exception {
    Path store = Files.createTempDirectory(nodes.dir(), "store-");
    IotpipeConfig cfg = pipeline(store);
    publish(cfg);
    AtomicBoolean crashed = new AtomicBoolean();
    CommitSteps faults = (s, path) -> {
      if (s == step && crashed.compareAndSet(false, true)) {
        throw new Crash(s);
      }
      if (crashed.get()) {
        throw new Crash(s); // the crashed process does nothing more
      }
    };
    StorageSink dying = StorageSink.withFaults(cfg.storage(), Clock.systemUTC(), new SimpleMeterRegistry(), faults);
    SinkConsumer first = consumer(cfg, dying);
    // The crash kills a committer thread with an uncaught Error: that is the point, so Awaitility must not rethrow it.
    await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(60)).untilTrue(crashed);
    // The process is gone: its connection closes, its unacked messages go back to the queues. Its sink is abandoned.
    try {
      first.close(Duration.ofMillis(200));
    } catch (Crash expected) {
      // the dying sink's flush hits the crash again: nothing of it runs any more
    }
    try (StorageSink sink = new StorageSink(cfg.storage(), Clock.systemUTC(), new SimpleMeterRegistry());
         SinkConsumer second = consumer(cfg, sink)) {
      await().dontCatchUncaughtExceptions().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
          .until(() -> second.stats().pending() == 0 && waiting(cfg) == 0);
    }
    assertExactlyOnce(store);
  }
}
