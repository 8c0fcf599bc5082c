package io.iotpipe.rabbitmq.consume;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.Decoded;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.sink.Outcome;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.core.sink.SinkRecord;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop: takes messages from a sink's partition queues, hands valid ones to the {@link Sink} in batches,
 * and settles each message according to the sink's {@link Outcome} — the only place in iotpipe that acks.
 *
 * <ul>
 *   <li>A message is acked only after the sink reported it DELIVERED (durable).</li>
 *   <li>A message that fails the telemetry contract, or that the sink rejects, is published to the dead-letter
 *       exchange with the reason in a header; only after that publish is confirmed is the original acked. If the
 *       dead-letter publish fails, the message stays unacked and is tried again: bad input is never silently dropped.</li>
 *   <li>A RETRY outcome keeps the message unacked and offers it again after a bounded exponential backoff; the
 *       prefetch bound means a failing sink stops intake instead of growing memory.</li>
 *   <li>The connection is supervised: on any loss (node restart, failover, network cut) the consumer reconnects to
 *       any node of the broker with backoff and subscribes again; deliveries of the dead channel are discarded (the
 *       broker requeued them), so no ack ever lands on the wrong message.</li>
 * </ul>
 *
 * <p>Threads: the AMQP client's dispatch thread only decodes and enqueues; one dispatcher thread forms batches and
 * calls the sink; settlements run on the sink's completion threads; a scheduler runs retries and reconnects.
 */
public final class SinkConsumer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkConsumer.class);
  /** Header the simulator and devices may set with the publish time in epoch millis (AMQP timestamps are seconds). */
  public static final String PUBLISHED_AT_HEADER = "x-published-at";

  private final BrokerConfig broker;
  private final List<String> queues;
  private final Sink sink;
  private final TelemetryCodec codec;
  private final ConsumerSettings settings;
  private final Names names;

  private final BlockingQueue<Delivery> inbox = new LinkedBlockingQueue<>();
  private final ScheduledExecutorService scheduler;
  private final Thread dispatcher;
  private final AtomicInteger inSink = new AtomicInteger();
  private final AtomicInteger waitingRetry = new AtomicInteger();
  private final AtomicInteger unsettled = new AtomicInteger();

  private final Counter received;
  private final Counter redelivered;
  private final Counter delivered;
  private final Counter invalid;
  private final Counter rejected;
  private final Counter deadLettered;
  private final Counter retries;
  private final DistributionSummary latency;
  private final AtomicLong reconnects = new AtomicLong();
  private volatile String lastError;

  private final Object connectionLock = new Object();
  private Connection connection;
  private ConfirmingPublisher deadLetters;
  private final Map<String, Subscription> subscriptions = new HashMap<>();
  private volatile boolean closing;
  private int reconnectAttempt;

  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, MeterRegistry registry) {
    this.broker = broker;
    this.queues = List.copyOf(queues);
    this.sink = sink;
    this.codec = codec;
    this.settings = settings;
    this.names = names;
    String s = sink.name();
    this.received = Counter.builder("iotpipe.consumer.received").tag("sink", s).description("messages taken from the sink's queues").register(registry);
    this.redelivered = Counter.builder("iotpipe.consumer.redelivered").tag("sink", s).description("deliveries flagged as redelivered by the broker").register(registry);
    this.delivered = Counter.builder("iotpipe.consumer.delivered").tag("sink", s).description("messages acked after the sink made them durable").register(registry);
    this.invalid = Counter.builder("iotpipe.consumer.invalid").tag("sink", s).description("messages failing the telemetry contract").register(registry);
    this.rejected = Counter.builder("iotpipe.consumer.rejected").tag("sink", s).description("messages the sink refused permanently").register(registry);
    this.deadLettered = Counter.builder("iotpipe.consumer.dead_lettered").tag("sink", s).description("messages moved to the dead-letter queue").register(registry);
    this.retries = Counter.builder("iotpipe.consumer.retries").tag("sink", s).description("transient sink failures retried after backoff").register(registry);
    this.latency = DistributionSummary.builder("iotpipe.consumer.latency").tag("sink", s).baseUnit("milliseconds")
        .description("publish-to-ack latency").publishPercentiles(0.5, 0.9, 0.99).distributionStatisticExpiry(Duration.ofMinutes(10))
        .serviceLevelObjectives(10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000)
        .distributionStatisticBufferLength(2).register(registry);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "iotpipe-" + s + "-scheduler"));
    this.dispatcher = daemon(this::dispatchLoop, "iotpipe-" + s + "-dispatcher");
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Starts consuming. Returns once the first connection attempt was made; later losses are healed in the background. */
  public SinkConsumer start() {
    dispatcher.start();
    connect();
    return this;
  }

  // ---------------------------------------------------------------- connection supervision

  private void connect() {
    synchronized (connectionLock) {
      if (closing || (connection != null && connection.isOpen() && subscriptions.size() == queues.size())) {
        return;
      }
      try {
        if (connection == null || !connection.isOpen()) {
          subscriptions.values().forEach(Subscription::kill);
          subscriptions.clear();
          connection = Amqp.factory(broker).newConnection(Amqp.addresses(broker, true), "iotpipe-" + sink.name());
          connection.addShutdownListener(this::onConnectionLost);
          deadLetters = new ConfirmingPublisher(connection.createChannel(), 1000);
          reconnects.incrementAndGet();
        }
        for (String q : queues) {
          if (!subscriptions.containsKey(q)) {
            subscribe(q);
          }
        }
        if (reconnectAttempt > 0) {
          LOG.info("{}: consuming again from {} ({} queues)", sink.name(), broker.name(), queues.size());
        }
        reconnectAttempt = 0;
        lastError = null;
      } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
        lastError = e.getMessage() == null ? e.toString() : e.getMessage();
        Duration delay = settings.backoff().delay(++reconnectAttempt);
        if (reconnectAttempt == 1 || reconnectAttempt % 10 == 0) {
          LOG.warn("{}: cannot consume from broker {} ({}); retrying in {} ms (attempt {})", sink.name(), broker.name(),
              lastError, delay.toMillis(), reconnectAttempt);
        }
        scheduleReconnect(delay);
      }
    }
  }

  private void scheduleReconnect(Duration delay) {
    if (!closing) {
      scheduler.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void onConnectionLost(ShutdownSignalException cause) {
    if (closing || cause.isInitiatedByApplication()) {
      return;
    }
    lastError = "connection lost: " + cause.getMessage();
    LOG.warn("{}: {}; reconnecting", sink.name(), lastError);
    synchronized (connectionLock) {
      subscriptions.values().forEach(Subscription::kill);
      subscriptions.clear();
    }
    scheduleReconnect(settings.backoff().delay(1));
  }

  private void subscribe(String queue) throws IOException {
    Channel ch = connection.createChannel();
    ch.basicQos(settings.prefetch());
    Subscription sub = new Subscription(queue, ch, settings.prefetch());
    ch.addShutdownListener(cause -> {
      sub.kill();
      if (!closing && !cause.isHardError() && !cause.isInitiatedByApplication()) {
        // Channel-level error only (e.g. queue deleted, precondition failed): resubscribe this queue.
        lastError = queue + ": channel closed: " + cause.getMessage();
        LOG.warn("{}: {}", sink.name(), lastError);
        synchronized (connectionLock) {
          subscriptions.remove(queue, sub);
        }
        scheduleReconnect(settings.backoff().delay(1));
      }
    });
    try {
      ch.basicConsume(queue, false, "iotpipe-" + sink.name() + "-" + queue, new DefaultConsumer(ch) {
        @Override
        public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
          onDelivery(sub, env, props, body);
        }

        @Override
        public void handleCancel(String consumerTag) {
          // The broker cancelled us (queue deleted or its node went away): subscribe again once possible.
          lastError = queue + ": consumer cancelled by the broker";
          LOG.warn("{}: {}; resubscribing", sink.name(), lastError);
          sub.kill();
          synchronized (connectionLock) {
            subscriptions.remove(queue, sub);
          }
          try {
            ch.close();
          } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException ignored) {
            // already closing
          }
          scheduleReconnect(settings.backoff().delay(1));
        }
      });
    } catch (IOException e) {
      String why = e.getCause() instanceof ShutdownSignalException s ? s.getMessage() : e.getMessage();
      throw new IOException("cannot consume from queue " + queue + " (" + why + "): run `iotpipe topology apply` first?", e);
    }
    subscriptions.put(queue, sub);
  }

  // ---------------------------------------------------------------- intake

  private void onDelivery(Subscription sub, Envelope env, AMQP.BasicProperties props, byte[] body) {
    sub.track(env.getDeliveryTag());
    received.increment();
    unsettled.incrementAndGet();
    if (env.isRedeliver()) {
      redelivered.increment();
    }
    Decoded decoded = codec.decode(body);
    Delivery d = switch (decoded) {
      case Decoded.Valid v -> new Delivery(sub, env.getDeliveryTag(), props, body,
          new SinkRecord(v.telemetry(), body, sub.queue, publishedAt(props)), null, 0);
      case Decoded.Invalid inv -> new Delivery(sub, env.getDeliveryTag(), props, body, null, "invalid telemetry: " + inv.reason(), 0);
    };
    inbox.add(d);
  }

  private static long publishedAt(AMQP.BasicProperties props) {
    Object h = props.getHeaders() == null ? null : props.getHeaders().get(PUBLISHED_AT_HEADER);
    if (h instanceof Number n) {
      return n.longValue();
    }
    return props.getTimestamp() == null ? 0 : props.getTimestamp().getTime();
  }

  // ---------------------------------------------------------------- dispatch

  private void dispatchLoop() {
    List<Delivery> batch = new ArrayList<>();
    while (true) {
      try {
        Delivery first = inbox.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing && inbox.isEmpty() && inSink.get() == 0 && waitingRetry.get() == 0) {
            return;
          }
          continue;
        }
        batch.add(first);
        long bytes = first.body().length;
        long deadline = System.nanoTime() + settings.batchWait().toNanos();
        while (batch.size() < settings.batchMax() && bytes < settings.batchBytes()) {
          long left = deadline - System.nanoTime();
          Delivery next = left > 0 ? inbox.poll(left, TimeUnit.NANOSECONDS) : inbox.poll();
          if (next == null) {
            break;
          }
          batch.add(next);
          bytes += next.body().length;
        }
        dispatch(batch);
        batch = new ArrayList<>();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("{}: dispatcher error (messages stay unacked and will be retried)", sink.name(), e);
        batch.forEach(this::retryLater);
        batch = new ArrayList<>();
      }
    }
  }

  private void dispatch(List<Delivery> batch) {
    List<Delivery> toSink = new ArrayList<>(batch.size());
    for (Delivery d : batch) {
      if (!d.subscription().alive()) {
        settleStale();
      } else if (d.record() == null) {
        invalid.increment();
        deadLetter(d, d.invalidReason());
      } else {
        toSink.add(d);
      }
    }
    if (toSink.isEmpty()) {
      return;
    }
    List<SinkRecord> records = new ArrayList<>(toSink.size());
    for (Delivery d : toSink) {
      records.add(d.record());
    }
    inSink.addAndGet(toSink.size());
    try {
      sink.write(records).whenComplete((outcomes, error) -> settle(toSink, outcomes, error));
    } catch (RuntimeException e) {
      settle(toSink, null, e);
    }
  }

  private void settle(List<Delivery> batch, List<Outcome> outcomes, Throwable error) {
    inSink.addAndGet(-batch.size());
    if (error != null || outcomes == null || outcomes.size() != batch.size()) {
      String why = error != null ? String.valueOf(error.getMessage())
          : "sink returned " + (outcomes == null ? "no" : outcomes.size()) + " outcomes for " + batch.size() + " records";
      lastError = sink.name() + ": " + why;
      LOG.warn("{}: batch of {} failed ({}); retrying", sink.name(), batch.size(), why);
      batch.forEach(this::retryLater);
      return;
    }
    long now = System.currentTimeMillis();
    // Acks are gathered per channel and sent together: a file commit settles thousands of rows at once, and one
    // basic.ack(multiple) per contiguous run costs the broker a fraction of one frame per message.
    Map<Subscription, List<Delivery>> toAck = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      Delivery d = batch.get(i);
      switch (outcomes.get(i)) {
        case Outcome.Delivered ignored -> toAck.computeIfAbsent(d.subscription(), k -> new ArrayList<>()).add(d);
        case Outcome.Retry r -> {
          lastError = sink.name() + ": " + r.reason();
          retryLater(d);
        }
        case Outcome.Reject r -> {
          rejected.increment();
          deadLetter(d, sink.name() + " rejected: " + r.reason());
        }
      }
    }
    toAck.forEach((sub, ds) -> {
      if (sub.ack(ds.stream().map(Delivery::tag).toList())) {
        delivered.increment(ds.size());
        for (Delivery d : ds) {
          long published = d.record().publishedAt();
          if (published > 0 && now >= published) {
            latency.record(now - published);
          }
        }
      }
      unsettled.addAndGet(-ds.size());
    });
  }

  private void settleStale() {
    // Its channel is gone; the broker has requeued it and will deliver it again.
    unsettled.decrementAndGet();
  }

  private void retryLater(Delivery d) {
    if (closing || !d.subscription().alive()) {
      // On shutdown the message simply stays unacked: closing the channel hands it back to the broker.
      settleStale();
      return;
    }
    retries.increment();
    waitingRetry.incrementAndGet();
    Duration delay = settings.backoff().delay(d.attempt() + 1);
    scheduler.schedule(() -> {
      waitingRetry.decrementAndGet();
      inbox.add(d.nextAttempt());
    }, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void deadLetter(Delivery d, String reason) {
    ConfirmingPublisher publisher;
    synchronized (connectionLock) {
      publisher = deadLetters;
    }
    Map<String, Object> headers = d.properties().getHeaders() == null ? new HashMap<>() : new HashMap<>(d.properties().getHeaders());
    headers.put(Names.REASON_HEADER, reason.length() > 2000 ? reason.substring(0, 2000) + "..." : reason);
    headers.put(Names.SOURCE_HEADER, d.subscription().queue);
    headers.put("x-iotpipe-dead-lettered-at", Instant.now().toString());
    AMQP.BasicProperties props = d.properties().builder().headers(headers).deliveryMode(2).build();
    try {
      publisher.publish(names.deadLetterExchange(), sink.name(), props, d.body()).whenComplete((ok, err) -> {
        if (err == null && d.subscription().ack(d.tag())) {
          deadLettered.increment();
          unsettled.decrementAndGet();
        } else if (err == null) {
          settleStale();
        } else {
          lastError = sink.name() + ": dead-letter publish failed: " + err.getMessage();
          LOG.warn("{}; the message stays on its queue and is tried again", lastError);
          retryLater(d);
        }
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      retryLater(d);
    }
  }

  // ---------------------------------------------------------------- status and shutdown

  public ConsumerStats stats() {
    boolean connected;
    synchronized (connectionLock) {
      connected = connection != null && connection.isOpen() && subscriptions.size() == queues.size();
    }
    return new ConsumerStats((long) received.count(), (long) redelivered.count(), (long) delivered.count(),
        (long) invalid.count(), (long) rejected.count(), (long) deadLettered.count(), (long) retries.count(),
        unsettled.get(), connected, reconnects.get(), lastError);
  }

  /** Publish-to-ack latency histogram: bucket upper bound in ms -> messages in that bucket (not cumulative). */
  public java.util.Map<Long, Long> latencyHistogram() {
    java.util.Map<Long, Long> out = new java.util.LinkedHashMap<>();
    double prev = 0;
    for (var b : latency.takeSnapshot().histogramCounts()) {
      out.put((long) b.bucket(), (long) (b.count() - prev));
      prev = b.count();
    }
    return out;
  }

  /** Publish-to-ack latency percentile in ms (0.5, 0.99, ...), or NaN before any message was acked. */
  public double latencyPercentile(double p) {
    for (var v : latency.takeSnapshot().percentileValues()) {
      if (Math.abs(v.percentile() - p) < 1e-9) {
        return v.value();
      }
    }
    return Double.NaN;
  }

  /**
   * Stops gracefully: no new deliveries, hands what was received to the sink, asks it to flush, waits (up to
   * {@code timeout}) for every outcome and settles them, then closes the connection. Whatever is still unsettled at
   * that point is returned to the queue by the broker: nothing is lost, at worst redelivered.
   */
  public void close(Duration timeout) {
    synchronized (connectionLock) {
      if (closing) {
        return;
      }
      for (Subscription s : subscriptions.values()) {
        try {
          s.channel.basicCancel("iotpipe-" + sink.name() + "-" + s.queue);
        } catch (IOException | RuntimeException ignored) {
          // channel already gone: its messages are back on the queue
        }
      }
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    // Let already-received messages reach the sink, then force the sink to make them durable.
    while (!inbox.isEmpty() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
      parkMillis(20);
    }
    closing = true;
    sink.flush();
    while (inSink.get() > 0 && System.nanoTime() < deadline) {
      parkMillis(20);
    }
    scheduler.shutdownNow();
    dispatcher.interrupt();
    synchronized (connectionLock) {
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
    }
  }

  private static void parkMillis(long ms) {
    java.util.concurrent.locks.LockSupport.parkNanos(ms * 1_000_000);
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }
}
