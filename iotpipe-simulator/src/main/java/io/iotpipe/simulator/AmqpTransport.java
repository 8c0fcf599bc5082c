package io.iotpipe.simulator;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Connection;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.IOException;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Devices (or a gateway) publishing over AMQP 0-9-1 with publisher confirms and {@code mandatory}: a reading counts as
 * delivered only once the edge confirmed it into its buffer queue. Reconnects lazily after a broker restart.
 */
final class AmqpTransport implements Transport {

  /** Epoch millis of the publish, read by the sinks for end-to-end latency. */
  static final String PUBLISHED_AT = "x-published-at";

  private final BrokerConfig edge;
  private final String exchange;
  private final int maxInFlight;
  private Connection connection;
  private ConfirmingPublisher publisher;
  private long reconnectNotBefore;

  AmqpTransport(BrokerConfig edge, String exchange, int maxInFlight) {
    this.edge = edge;
    this.exchange = exchange;
    this.maxInFlight = maxInFlight;
    connect(); // fail fast with a clear message when the edge is unreachable at start
  }

  private void connect() {
    connection = Amqp.connect(edge, "iotpipe-simulator");
    try {
      publisher = new ConfirmingPublisher(connection.createChannel(), maxInFlight);
    } catch (IOException e) {
      throw new IllegalStateException(Amqp.describe(edge, e), e);
    }
  }

  @Override
  public CompletableFuture<Void> send(Telemetry t, byte[] body) {
    try {
      if (connection == null || !connection.isOpen()) {
        if (System.currentTimeMillis() < reconnectNotBefore) {
          return CompletableFuture.failedFuture(new IOException("edge connection down, reconnecting"));
        }
        closeQuietly();
        try {
          connect();
        } catch (RuntimeException e) {
          reconnectNotBefore = System.currentTimeMillis() + 1000;
          return CompletableFuture.failedFuture(e);
        }
      }
      long now = System.currentTimeMillis();
      AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
          .contentType("application/json").deliveryMode(2).messageId(t.id()).timestamp(new Date(now))
          .appId("iotpipe-simulator").headers(Map.of(PUBLISHED_AT, now)).build();
      return publisher.publish(exchange, "telemetry." + t.deviceId(), props, body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    }
  }

  private void closeQuietly() {
    if (publisher != null) {
      publisher.close();
    }
    if (connection != null) {
      try {
        connection.abort(2000);
      } catch (RuntimeException ignored) {
        // already dead
      }
    }
  }

  @Override
  public void close() {
    closeQuietly();
  }
}
