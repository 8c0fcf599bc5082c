package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one connection to the sink's broker with a subscription per partition queue, whatever happens: on any loss
 * (node restart, failover, network cut, consumer cancelled by the broker) it reconnects to any node with backoff and
 * subscribes again. Each subscription start and end is reported to the {@link Listener}, so the sink sees
 * single-active-consumer handovers as open/close of a partition. Deliveries of a dead channel are never acked on
 * another: their {@link Subscription} is killed with the channel.
 */
final class Supervisor implements Supervision {

  private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

  /** What the supervisor reports; called on the AMQP client's threads. */
  interface Listener {
    void opened(Subscription subscription);

    void closed(Subscription subscription);

    void delivered(Subscription subscription, Envelope envelope, AMQP.BasicProperties props, byte[] body);
  }

  private final String name;
  private final BrokerConfig broker;
  private final List<String> queues;
  private final int prefetch;
  private final Backoff backoff;
  private final ScheduledExecutorService scheduler;
  private final Listener listener;

  private final Object lock = new Object();
  // written under lock; volatile so that health checks read them without waiting for a connection attempt
  private volatile Connection connection;
  private ConfirmingPublisher deadLetters;
  private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
  private volatile boolean closing;
  private int attempt;
  private volatile long disconnectedSince = System.currentTimeMillis();
  private volatile String lastError;
  private volatile long connections;

  Supervisor(String name, BrokerConfig broker, List<String> queues, int prefetch, Backoff backoff,
             ScheduledExecutorService scheduler, Listener listener) {
    this.name = name;
    this.broker = broker;
    this.queues = List.copyOf(queues);
    this.prefetch = prefetch;
    this.backoff = backoff;
    this.scheduler = scheduler;
    this.listener = listener;
  }

  /** Connects and subscribes every queue missing a subscription; on failure schedules another try. */
  @Override
  public void connect() {
    synchronized (lock) {
      if (closing || (connection != null && connection.isOpen() && subscriptions.size() == queues.size())) {
        return;
      }
      try {
        if (connection == null || !connection.isOpen()) {
          dropAll();
          connection = Amqp.factory(broker).newConnection(Amqp.addresses(broker, true), "iotpipe-" + name);
          connection.addShutdownListener(this::onConnectionLost);
          deadLetters = new ConfirmingPublisher(connection.createChannel(), 1000);
          connections++;
          io.iotpipe.runtime.Startup.mark(name + ": connected");
        }
        for (String q : queues) {
          if (!subscriptions.containsKey(q)) {
            subscribe(q);
          }
        }
        io.iotpipe.runtime.Startup.mark(name + ": subscribed " + queues.size() + " queues");
        if (attempt > 0) {
          LOG.info("{}: consuming again from {} ({} queues)", name, broker.name(), queues.size());
        }
        attempt = 0;
        lastError = null;
        disconnectedSince = 0;
      } catch (IOException | TimeoutException | RuntimeException e) {
        lastError = e.getMessage() == null ? e.toString() : e.getMessage();
        Duration delay = backoff.delay(++attempt);
        if (attempt == 1 || attempt % 10 == 0) {
          LOG.warn("{}: cannot consume from broker {} ({}); retrying in {} ms (attempt {})", name, broker.name(),
              lastError, delay.toMillis(), attempt);
        }
        if (disconnectedSince == 0) {
          disconnectedSince = System.currentTimeMillis();
        }
        schedule(delay);
      }
    }
  }

  private void schedule(Duration delay) {
    if (!closing) {
      scheduler.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void onConnectionLost(ShutdownSignalException cause) {
    if (closing || cause.isInitiatedByApplication()) {
      return;
    }
    lastError = "connection lost: " + cause.getMessage();
    LOG.warn("{}: {}; reconnecting", name, lastError);
    synchronized (lock) {
      dropAll();
      disconnectedSince = System.currentTimeMillis();
    }
    schedule(backoff.delay(1));
  }

  /** Kills every subscription (their deliveries are back on the broker) and tells the listener. Holds the lock. */
  private void dropAll() {
    subscriptions.values().forEach(this::drop);
    subscriptions.clear();
  }

  private void drop(Subscription sub) {
    sub.kill();
    listener.closed(sub);
  }

  private void subscribe(String queue) throws IOException {
    Channel ch = connection.createChannel();
    ch.basicQos(prefetch);
    Subscription sub = new Subscription(queue, ch, prefetch);
    ch.addShutdownListener(cause -> {
      if (!closing && !cause.isHardError() && !cause.isInitiatedByApplication()) {
        // Channel-level error only (queue deleted, precondition failed): resubscribe this queue.
        lastError = queue + ": channel closed: " + cause.getMessage();
        LOG.warn("{}: {}", name, lastError);
        unsubscribed(queue, sub);
        schedule(backoff.delay(1));
      } else {
        sub.kill();
      }
    });
    // The sink hears of the partition before its first delivery can arrive.
    listener.opened(sub);
    subscriptions.put(queue, sub);
    try {
      ch.basicConsume(queue, false, consumerTag(queue), new DefaultConsumer(ch) {
        @Override
        public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
          listener.delivered(sub, env, props, body);
        }

        @Override
        public void handleCancel(String consumerTag) {
          // The broker cancelled us (queue deleted, or its node went away): subscribe again once possible.
          lastError = queue + ": consumer cancelled by the broker";
          LOG.warn("{}: {}; resubscribing", name, lastError);
          unsubscribed(queue, sub);
          try {
            ch.close();
          } catch (IOException | TimeoutException | RuntimeException ignored) {
            // already closing
          }
          schedule(backoff.delay(1));
        }
      });
    } catch (IOException e) {
      unsubscribed(queue, sub);
      String why = e.getCause() instanceof ShutdownSignalException s ? s.getMessage() : e.getMessage();
      throw new IOException("cannot consume from queue " + queue + " (" + why + "): run `iotpipe topology apply` first?", e);
    }
  }

  private void unsubscribed(String queue, Subscription sub) {
    synchronized (lock) {
      if (subscriptions.remove(queue, sub)) {
        drop(sub);
      } else {
        sub.kill();
      }
    }
  }

  private String consumerTag(String queue) {
    return "iotpipe-" + name + "-" + queue;
  }

  /** Publishes to the dead-letter exchange on the current connection, completing when the broker confirmed. */
  @Override
  public CompletionStage<Void> publish(String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
    ConfirmingPublisher publisher;
    synchronized (lock) {
      publisher = deadLetters;
    }
    if (publisher == null) {
      return CompletableFuture.failedFuture(new IOException("not connected"));
    }
    try {
      return publisher.publish(exchange, routingKey, props, body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Lock-free: /health must answer while a connection attempt holds the lock. */
  @Override
  public boolean connected() {
    Connection c = connection;
    return c != null && c.isOpen() && subscriptions.size() == queues.size();
  }

  /** Epoch millis since when the consumer has not been fully subscribed, 0 while it is. */
  @Override
  public long disconnectedSince() {
    return connected() ? 0 : Math.max(disconnectedSince, 1);
  }

  @Override
  public String lastError() {
    return lastError;
  }

  @Override
  public long connections() {
    return connections;
  }

  /** Stops taking new deliveries; what was received is still settled on the open channels. */
  @Override
  public void cancel() {
    synchronized (lock) {
      for (Subscription s : subscriptions.values()) {
        try {
          s.channel.basicCancel(consumerTag(s.queue));
        } catch (IOException | RuntimeException ignored) {
          // channel already gone: its messages are back on the queue
        }
      }
    }
  }

  /** Closes the connection; unacked messages go back to their queues. */
  @Override
  public void close() {
    synchronized (lock) {
      closing = true;
      if (deadLetters != null) {
        deadLetters.close();
      }
      if (connection != null && connection.isOpen()) {
        try {
          connection.close(5_000);
        } catch (IOException | RuntimeException ignored) {
          // closing anyway
        }
      }
      dropAll();
    }
  }
}
