package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.MessageProperties;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.retry.Backoff;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor against a real node: when the broker closes the connection it reconnects and subscribes again by
 * itself, the partition is reported closed and opened again, and the deliveries of the dead channel can no longer be
 * acked — delivery tags restart on the new channel, so an ack carried over would settle a different message.
 */
class SupervisorIT {

  @TempDir static Path dir;
  static LocalNode node;

  @BeforeAll
  static void startNode() {
    node = LocalNode.start(new LocalNode.Spec("sup" + UUID.randomUUID().toString().substring(0, 8), dir, false));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.kill();
    }
  }

  record Received(Subscription subscription, long tag, boolean redelivered, String body) {}

  /** Records what the supervisor reports; never acks by itself. */
  static final class Recorder implements Supervisor.Listener {
    final List<Subscription> opened = new CopyOnWriteArrayList<>();
    final List<Subscription> closed = new CopyOnWriteArrayList<>();
    final List<Received> received = new CopyOnWriteArrayList<>();

    @Override
    public void opened(Subscription s) {
      opened.add(s);
    }

    @Override
    public void closed(Subscription s) {
      closed.add(s);
    }

    @Override
    public void delivered(Subscription s, Envelope env, AMQP.BasicProperties props, byte[] body) {
      s.track(env.getDeliveryTag());
      received.add(new Received(s, env.getDeliveryTag(), env.isRedeliver(), new String(body, StandardCharsets.UTF_8)));
    }

    List<Received> on(Subscription s) {
      return received.stream().filter(r -> r.subscription() == s).toList();
    }
  }

  private static BrokerConfig broker() {
    return new BrokerConfig("cloud", List.of(node.amqpUri()), null, "guest", new Secret("", "guest"), "default");
  }

  private static long depth(String queue) {
    return node.queueDepths().getOrDefault(queue, -1L);
  }

  @Test
  void reconnectsAfterTheBrokerClosesTheConnectionAndNeverAcksAStaleDelivery() throws Exception {
    String queue = "p0-" + UUID.randomUUID().toString().substring(0, 8);
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(node.ports().amqp());
    try (Connection c = f.newConnection("supervisor-it-publisher"); var ch = c.createChannel()) {
      ch.queueDeclare(queue, true, false, false, Map.of());
      ch.confirmSelect();
      for (int i = 1; i <= 5; i++) {
        ch.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, ("m" + i).getBytes(StandardCharsets.UTF_8));
      }
      ch.waitForConfirmsOrDie(10_000);
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    Recorder sink = new Recorder();
    Supervisor sup = new Supervisor("it", broker(), List.of(queue), 100,
        new Backoff(Duration.ofMillis(100), Duration.ofMillis(500)), scheduler, sink);
    try {
      sup.connect();
      await().atMost(Duration.ofSeconds(30)).until(() -> sink.received.size() == 5);
      assertThat(sup.connected()).isTrue();
      assertThat(sup.disconnectedSince()).isZero();
      Subscription first = sink.opened.getFirst();
      List<Received> firstRound = sink.on(first);
      assertThat(firstRound).extracting(Received::body).containsExactly("m1", "m2", "m3", "m4", "m5");

      node.ctlOrFail("close_all_connections", "SupervisorIT: broker-side close");

      // The partition is closed and opened again on a new channel, by the supervisor alone.
      await().atMost(Duration.ofSeconds(30)).until(() -> sink.opened.size() == 2 && sink.closed.contains(first));
      Subscription second = sink.opened.get(1);
      assertThat(second).isNotSameAs(first);
      assertThat(first.alive()).isFalse();
      assertThat(sup.connections()).isEqualTo(2);
      // Everything unacked on the dead channel comes again, flagged as redelivered, on the new one.
      await().atMost(Duration.ofSeconds(30)).until(() -> sink.on(second).size() == 5);
      List<Received> secondRound = sink.on(second);
      assertThat(secondRound).extracting(Received::body).containsExactly("m1", "m2", "m3", "m4", "m5");
      assertThat(secondRound).allMatch(Received::redelivered);
      assertThat(sup.connected()).isTrue();

      // Settling the first round now (a sink finishing late) must not ack anything: the same tag numbers on the new
      // channel belong to the redeliveries, which the sink has not written yet.
      assertThat(first.ack(firstRound.stream().map(Received::tag).toList())).isFalse();
      assertThat(second.alive()).isTrue();
      assertThat(depth(queue)).as("nothing acked by the stale settlement").isEqualTo(5);

      // The redeliveries are acked once, on their own channel, and the queue is empty.
      assertThat(second.ack(secondRound.stream().map(Received::tag).toList())).isTrue();
      await().atMost(Duration.ofSeconds(30)).until(() -> depth(queue) == 0);
      // No double ack: a second settlement of the same deliveries would close the channel (PRECONDITION_FAILED,
      // unknown delivery tag) — the channel is still open and keeps consuming.
      try (Connection c = f.newConnection("supervisor-it-publisher"); var ch = c.createChannel()) {
        ch.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, "m6".getBytes(StandardCharsets.UTF_8));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> sink.on(second).size() == 6);
      assertThat(second.alive()).isTrue();
      assertThat(sink.opened).hasSize(2);
    } finally {
      sup.close();
      scheduler.shutdownNow();
    }
  }

  @Test
  void reconnectsWhenTheNodeComesBackAfterARestart() throws Exception {
    String queue = "p1-" + UUID.randomUUID().toString().substring(0, 8);
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(node.ports().amqp());
    try (Connection c = f.newConnection("supervisor-it-setup"); var ch = c.createChannel()) {
      ch.queueDeclare(queue, true, false, false, Map.of());
    }
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    Recorder sink = new Recorder();
    Supervisor sup = new Supervisor("it", broker(), List.of(queue), 100,
        new Backoff(Duration.ofMillis(100), Duration.ofMillis(500)), scheduler, sink);
    try {
      sup.connect();
      await().atMost(Duration.ofSeconds(30)).until(sup::connected);

      node.flushMetadata(); // the queue declared above must outlive the crash (see flushMetadata)
      node.kill();
      await().atMost(Duration.ofSeconds(30)).until(() -> !sup.connected());
      assertThat(sup.disconnectedSince()).isPositive();
      assertThat(sup.lastError()).isNotBlank();
      node.start();

      // One attempt that reaches the node while it boots may wait out the channel RPC timeout (a minute) before the
      // next; the last error is in the failure message.
      await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
          assertThat(sup.connected()).as("reconnected; last error: %s", sup.lastError()).isTrue());
      assertThat(sink.opened).hasSize(2);
      assertThat(sink.closed).containsExactly(sink.opened.getFirst());
      try (Connection c = f.newConnection("supervisor-it-publisher"); var ch = c.createChannel()) {
        ch.basicPublish("", queue, MessageProperties.PERSISTENT_BASIC, "after".getBytes(StandardCharsets.UTF_8));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> sink.on(sink.opened.get(1)).size() == 1);
    } finally {
      sup.close();
      scheduler.shutdownNow();
    }
  }
}
