package io.iotpipe.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.MessageProperties;
import io.iotpipe.broker.LocalNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The publisher every device, the simulator and the dead-letter path rely on, against a real RabbitMQ node: each
 * future must tell the fate of its own message (confirmed, nacked, returned, or lost with the connection), and none
 * may be left hanging.
 *
 * <p>Lives in this module (not the test kit): {@code iotpipe-broker}, which starts local nodes, depends only on
 * {@code iotpipe-core}, so a test-scoped dependency on it from here forms no cycle.
 */
class ConfirmingPublisherIT {

  @TempDir static Path dir;
  static LocalNode node;

  Connection connection;

  @BeforeAll
  static void startNode() {
    node = LocalNode.start(new LocalNode.Spec("cp" + UUID.randomUUID().toString().substring(0, 8), dir, false));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.kill();
    }
  }

  @BeforeEach
  void connect() throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(node.ports().amqp());
    f.setAutomaticRecoveryEnabled(false);
    connection = f.newConnection("confirming-publisher-it-" + UUID.randomUUID());
  }

  @AfterEach
  void disconnect() {
    // an alarm left on by a failed test would block every later publish
    node.ctl("set_vm_memory_high_watermark", "0.4");
    if (connection.isOpen()) {
      connection.abort();
    }
  }

  private static String name(String what) {
    return what + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static AMQP.BasicProperties persistent() {
    return MessageProperties.PERSISTENT_BASIC;
  }

  private static byte[] body(int i) {
    return ("reading " + i).getBytes(StandardCharsets.UTF_8);
  }

  private static String failure(CompletableFuture<Void> f) {
    assertThat(f).isCompletedExceptionally();
    try {
      f.join();
      throw new AssertionError("not failed");
    } catch (CompletionException e) {
      return String.valueOf(e.getCause().getMessage());
    }
  }

  @Test
  void confirmsCompleteEveryFutureAndUnroutableOnesAmongThemFailAsReturned() throws Exception {
    String exchange = name("ex");
    String queue = name("q");
    try (var admin = connection.createChannel()) {
      admin.exchangeDeclare(exchange, "direct", false, true, null);
      admin.queueDeclare(queue, true, false, false, null);
      admin.queueBind(queue, exchange, "routed");
    }
    ConfirmingPublisher publisher = new ConfirmingPublisher(connection.createChannel(), 1000);
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    int n = 300;
    for (int i = 0; i < n; i++) {
      // every 7th has no binding: the broker returns it and then still confirms it (basic.return precedes the ack),
      // often inside a multiple ack that also covers its routed neighbours
      futures.add(publisher.publish(exchange, i % 7 == 3 ? "nowhere" : "routed", persistent(), body(i)));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> futures.stream().allMatch(CompletableFuture::isDone));

    long routed = 0;
    for (int i = 0; i < n; i++) {
      if (i % 7 == 3) {
        assertThat(failure(futures.get(i))).as("message %d", i)
            .contains("unroutable").contains("routing key nowhere").contains(exchange);
      } else {
        assertThat(futures.get(i)).as("message %d", i).isCompleted().isNotCompletedExceptionally();
        routed++;
      }
    }
    assertThat(publisher.inFlight()).isZero();
    assertThat(node.queueDepths()).containsEntry(queue, routed);
    publisher.close();
  }

  @Test
  void aFullQueueNacksExactlyThePublishesBeyondItsBound() throws Exception {
    String queue = name("bounded");
    try (var admin = connection.createChannel()) {
      admin.queueDeclare(queue, true, false, false, Map.of("x-max-length", 3, "x-overflow", "reject-publish"));
    }
    ConfirmingPublisher publisher = new ConfirmingPublisher(connection.createChannel(), 1000);
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      futures.add(publisher.publish("", queue, persistent(), body(i)));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> futures.stream().allMatch(CompletableFuture::isDone));

    for (int i = 0; i < 3; i++) {
      assertThat(futures.get(i)).as("message %d fits the bound", i).isCompleted().isNotCompletedExceptionally();
    }
    for (int i = 3; i < 6; i++) {
      assertThat(failure(futures.get(i))).as("message %d is beyond the bound", i).contains("nacked");
    }
    assertThat(publisher.inFlight()).isZero();
    assertThat(node.queueDepths()).containsEntry(queue, 3L);

    // Once the queue has room again, the same publisher is confirmed again: a nack does not poison the channel.
    try (var admin = connection.createChannel()) {
      admin.queuePurge(queue);
    }
    CompletableFuture<Void> after = publisher.publish("", queue, persistent(), body(99));
    await().atMost(Duration.ofSeconds(30)).until(after::isDone);
    assertThat(after).isNotCompletedExceptionally();
    publisher.close();
  }

  @Test
  void aMandatoryPublishToAMissingRouteIsReportedAsReturnedNotConfirmed() throws Exception {
    String exchange = name("lonely");
    try (var admin = connection.createChannel()) {
      admin.exchangeDeclare(exchange, "topic", false, true, null);
    }
    ConfirmingPublisher publisher = new ConfirmingPublisher(connection.createChannel(), 10);
    CompletableFuture<Void> f = publisher.publish(exchange, "telemetry.evc-1", persistent(), body(1));
    await().atMost(Duration.ofSeconds(30)).until(f::isDone);
    assertThat(failure(f)).contains("unroutable").contains("312 NO_ROUTE").contains("telemetry.evc-1");
    assertThat(publisher.inFlight()).isZero();
    publisher.close();
  }

  @Test
  void connectionClosedByTheBrokerFailsEveryOutstandingConfirm() throws Exception {
    String queue = name("held");
    try (var admin = connection.createChannel()) {
      admin.queueDeclare(queue, true, false, false, null);
    }
    ConfirmingPublisher publisher = new ConfirmingPublisher(connection.createChannel(), 1000);
    // A memory alarm makes the broker stop reading from publishing connections: what we publish now stays
    // unconfirmed until the connection goes away.
    node.ctlOrFail("set_vm_memory_high_watermark", "0");
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      futures.add(publisher.publish("", queue, persistent(), body(i)));
    }
    List<CompletableFuture<Void>> outstanding = futures.stream().filter(f -> !f.isDone()).toList();
    assertThat(outstanding).as("confirms held back by the alarm").hasSizeGreaterThan(40);
    assertThat(publisher.inFlight()).isEqualTo(outstanding.size());

    node.ctlOrFail("close_all_connections", "closed by ConfirmingPublisherIT");

    await().atMost(Duration.ofSeconds(30)).until(() -> futures.stream().allMatch(CompletableFuture::isDone));
    for (CompletableFuture<Void> f : outstanding) {
      assertThat(failure(f)).contains("channel closed before confirm");
    }
    assertThat(publisher.inFlight()).isZero();
    // A publish after the loss fails at once instead of waiting for a confirm that can never come.
    CompletableFuture<Void> late = publisher.publish("", queue, persistent(), body(100));
    assertThat(late).isCompletedExceptionally();
    publisher.close();
  }
}
