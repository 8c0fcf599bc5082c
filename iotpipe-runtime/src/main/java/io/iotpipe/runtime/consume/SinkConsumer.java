package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.Counter;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.slo.sli.SinkHealthGauge;
import io.iotpipe.slo.sli.SinkSlis;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes one sink's partition queues into the {@link Sink}: wires the three parts that each do one job —
 * {@link Supervisor} (connection, subscriptions, reconnects; partition open/close reported to the sink; for partition
 * streams {@link StreamSupervisor}),
 * {@link Intake} (decode, identity check, batches) and {@link Settler} (outcomes into ack / retry within the budget /
 * dead-letter) — and runs the dispatcher thread that hands batches to the sink.
 *
 * <p>Threads: the AMQP client's dispatch thread decodes and queues; one dispatcher thread forms batches and calls
 * the sink; settlements run on the sink's completion threads; a scheduler runs retries and reconnects.
 */
public final class SinkConsumer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SinkConsumer.class);
  /** Header the simulator and devices may set with the publish time in epoch millis (AMQP timestamps are seconds). */
  public static final String PUBLISHED_AT_HEADER = Intake.PUBLISHED_AT_HEADER;

  private final Sink sink;
  private final ConsumerSettings settings;
  private final Names names;
  private final ScheduledExecutorService scheduler;
  private final Thread dispatcher;
  private final Intake intake;
  private final Settler settler;
  private final Supervision supervisor;
  private final AtomicInteger inSink = new AtomicInteger();
  private final AtomicInteger waitingRetry = new AtomicInteger();
  private final Counter received;
  private final Counter redelivered;
  private volatile boolean closing;
  /** Earliest System.nanoTime() the next batch may go to the sink when {@code maxRate} is set. */
  private long nextDispatch;
  /** Start-up phases seen (for {@link io.iotpipe.runtime.Startup}); flags so the hot path takes no lock. */
  private volatile boolean sawDelivery;
  private volatile boolean sawBatch;
  private volatile boolean sawAck;

  /** A consumer with the default objectives (tests, benchmarks). */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, MeterRegistry registry) {
    this(broker, queues, sink, codec, settings, names, SloConfig.defaults(List.of(sink.name()), Duration.ofMinutes(1)), registry);
  }

  /** @param slo the objectives whose indicators (completeness, freshness, health) this consumer measures live */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry) {
    this(broker, queues, sink, codec, settings, names, slo, registry, Duration.ZERO);
  }

  /**
   * @param commitTick how often the sink's {@link Sink#commit()} runs (the runtime's commit clock); zero: never, for
   *                   sinks whose writes are durable when their stage completes
   */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry, Duration commitTick) {
    this(broker, queues, sink, codec, settings, names, slo, registry, commitTick, io.iotpipe.core.config.TopologyConfig.Layout.QUEUES);
  }

  /**
   * @param queues the partition queues ({@code layout} queues) or partition streams ({@code layout} streams, read as
   *               the sink's group: {@code sink.name()})
   */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry, Duration commitTick,
                      io.iotpipe.core.config.TopologyConfig.Layout layout) {
    this(broker, queues, sink, codec, settings, names, slo, registry, commitTick, layout, null, device -> null);
  }

  /** @param tenants each device's tenant (null: none), stamped on its readings before the sink sees them */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry, Duration commitTick,
                      io.iotpipe.core.config.TopologyConfig.Layout layout, java.util.function.Function<String, String> tenants) {
    this(broker, queues, sink, codec, settings, names, slo, registry, commitTick, layout, null, tenants);
  }

  /**
   * @param batchPublisher the only {@code user_id} batches of readings are accepted from
   *                       ({@code IotpipeConfig.batchPublisher()}: the forwarder's account); null refuses every batch
   */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry, Duration commitTick,
                      io.iotpipe.core.config.TopologyConfig.Layout layout, String batchPublisher) {
    this(broker, queues, sink, codec, settings, names, slo, registry, commitTick, layout, batchPublisher, device -> null);
  }

  /**
   * @param batchPublisher the only {@code user_id} batches of readings are accepted from (null refuses every batch)
   * @param tenants        each device's tenant (null: none), stamped on its readings before the sink sees them
   */
  public SinkConsumer(BrokerConfig broker, List<String> queues, Sink sink, TelemetryCodec codec, ConsumerSettings settings,
                      Names names, SloConfig slo, MeterRegistry registry, Duration commitTick,
                      io.iotpipe.core.config.TopologyConfig.Layout layout, String batchPublisher,
                      java.util.function.Function<String, String> tenants) {
    this.sink = sink;
    this.settings = settings;
    this.names = names;
    String s = sink.name();
    this.received = Counter.builder("iotpipe.consumer.received").tag("sink", s).description("messages taken from the sink's queues").register(registry);
    this.redelivered = Counter.builder("iotpipe.consumer.redelivered").tag("sink", s).description("deliveries flagged as redelivered by the broker").register(registry);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "iotpipe-" + s + "-scheduler"));
    this.dispatcher = daemon(this::dispatchLoop, "iotpipe-" + s + "-dispatcher");
    this.intake = new Intake(codec, settings, batchPublisher, tenants);
    this.supervisor = layout == io.iotpipe.core.config.TopologyConfig.Layout.STREAMS
        ? new StreamSupervisor(s, broker, queues, settings.prefetch(), settings.backoff(), scheduler, new StreamSupervisor.Listener() {
          @Override
          public void opened(StreamPartition p) {
            sink.open(p.queue());
          }

          @Override
          public void closed(StreamPartition p) {
            sink.close(p.queue());
          }

          @Override
          public void delivered(StreamPartition p, long offset, String exchange, String routingKey,
                                AMQP.BasicProperties props, byte[] body) {
            // A stream has no redelivered flag: what follows the stored position may have been written before.
            onDelivery(p, offset, false, exchange, routingKey, props, body);
          }
        })
        : new Supervisor(s, broker, queues, settings.prefetch(), settings.backoff(), scheduler, new Supervisor.Listener() {
      @Override
      public void opened(Subscription sub) {
        sink.open(sub.queue());
      }

      @Override
      public void closed(Subscription sub) {
        sink.close(sub.queue());
      }

      @Override
      public void delivered(Subscription sub, com.rabbitmq.client.Envelope env, AMQP.BasicProperties props, byte[] body) {
        sub.track(env.getDeliveryTag());
        onDelivery(sub, env.getDeliveryTag(), env.isRedeliver(), env.getExchange(), env.getRoutingKey(), props, body);
      }
    });
    SinkSlis slis = new SinkSlis(s, slo, registry);
    this.settler = new Settler(s, settings.retry(), settings.backoff(), this::publishDeadLetter, this::retryLater,
        System::currentTimeMillis, registry, slis);
    SinkHealthGauge.register(registry, s, this::health);
    // Gaps older than the grace period become "missing" even when no reading arrives to notice them.
    scheduler.scheduleWithFixedDelay(slis::sweep, 1, 1, TimeUnit.SECONDS);
    if (!commitTick.isZero()) {
      scheduler.scheduleWithFixedDelay(this::commitTick, commitTick.toMillis(), commitTick.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** One message from a partition queue or stream, on the client's thread: counted, then decoded (unpacked) into the intake. */
  private void onDelivery(Source source, long tag, boolean redeliver, String exchange, String routingKey,
                          AMQP.BasicProperties props, byte[] body) {
    if (!sawDelivery) {
      sawDelivery = true;
      io.iotpipe.runtime.Startup.mark(sink.name() + ": first delivery");
    }
    received.increment();
    if (redeliver) {
      redelivered.increment();
    }
    // A batch of the forwarder's becomes one delivery per reading, each settled on its own.
    List<Delivery> readings = intake.unpack(source, tag, exchange, routingKey, props, body);
    for (int i = 0; i < readings.size(); i++) {
      settler.received();
    }
    intake.enqueue(readings);
  }

  /** A sink asked for a commit before the next tick ({@code SinkContext.requestCommit()}). */
  public void requestCommit() {
    try {
      scheduler.execute(this::commitTick);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // shutting down: close() flushes everything anyway
    }
  }

  /** On the scheduler thread only, so a sink's commit() never runs concurrently with itself. */
  private void commitTick() {
    try {
      sink.commit();
    } catch (RuntimeException e) {
      LOG.warn("{}: commit failed (its readings stay unacked and are retried): {}", sink.name(), e.toString());
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Starts consuming. Returns once the first connection attempt was made; later losses are healed in the background. */
  public SinkConsumer start() {
    dispatcher.start();
    supervisor.connect();
    return this;
  }

  private void dispatchLoop() {
    while (true) {
      List<Delivery> batch = List.of();
      try {
        batch = intake.nextBatch(200);
        if (batch.isEmpty()) {
          if (closing && intake.isEmpty() && inSink.get() == 0 && waitingRetry.get() == 0) {
            return;
          }
          continue;
        }
        dispatch(batch);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.error("{}: dispatcher error (messages stay unacked and will be retried)", sink.name(), e);
        settler.settle(batch, null, e);
      }
    }
  }

  private void dispatch(List<Delivery> batch) {
    List<Delivery> toSink = new ArrayList<>(batch.size());
    for (Delivery d : batch) {
      if (!d.source().alive()) {
        settler.stale();
      } else if (d.record() == null) {
        settler.invalid(d);
      } else {
        toSink.add(d);
      }
    }
    if (toSink.isEmpty()) {
      return;
    }
    if (sink.batchesPerPartition()) {
      Map<String, List<Delivery>> bySource = new java.util.LinkedHashMap<>();
      for (Delivery d : toSink) {
        bySource.computeIfAbsent(d.source().queue(), k -> new ArrayList<>()).add(d);
      }
      if (bySource.size() > 1) {
        bySource.values().forEach(this::toSink);
        return;
      }
    }
    toSink(toSink);
  }

  /** Hands validated deliveries to the sink; their outcomes are settled when the sink's stage completes. */
  private void toSink(List<Delivery> toSink) {
    pace(toSink.size());
    List<SinkRecord> records = new ArrayList<>(toSink.size());
    for (Delivery d : toSink) {
      records.add(d.record());
    }
    inSink.addAndGet(toSink.size());
    if (!sawBatch) {
      sawBatch = true;
      io.iotpipe.runtime.Startup.mark(sink.name() + ": first batch to the sink");
    }
    CompletionStage<List<io.iotpipe.sink.Outcome>> stage;
    try {
      stage = sink.write(records);
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    stage.whenComplete((outcomes, error) -> {
      inSink.addAndGet(-toSink.size());
      settler.settle(toSink, outcomes, error);
      if (!sawAck && outcomes != null && outcomes.stream().anyMatch(o -> o instanceof io.iotpipe.sink.Outcome.Delivered)) {
        sawAck = true;
        io.iotpipe.runtime.Startup.report(sink.name());
      }
    });
  }

  /** Holds the dispatcher so that at most {@code maxRate} messages a second reach the sink (a token bucket of one batch). */
  private void pace(int messages) {
    int rate = settings.maxRate();
    if (rate <= 0) {
      return;
    }
    long now = System.nanoTime();
    if (nextDispatch > now) {
      LockSupport.parkNanos(nextDispatch - now);
    }
    nextDispatch = Math.max(now, nextDispatch) + messages * 1_000_000_000L / rate;
  }

  private void retryLater(Delivery d, Duration delay) {
    if (closing) {
      // On shutdown the message simply stays unacked: closing the channel hands it back to the broker.
      settler.stale();
      return;
    }
    waitingRetry.incrementAndGet();
    scheduler.schedule(() -> {
      waitingRetry.decrementAndGet();
      intake.requeue(d);
    }, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private CompletionStage<Void> publishDeadLetter(Delivery d, String reason) {
    Map<String, Object> headers = d.properties().getHeaders() == null ? new HashMap<>() : new HashMap<>(d.properties().getHeaders());
    headers.put(Names.REASON_HEADER, reason);
    headers.put(Names.SOURCE_HEADER, d.source().queue());
    headers.put("x-iotpipe-dead-lettered-at", Instant.now().toString());
    if (d.routingKey() != null) {
      // Kept so a replay (straight into the partition queue) is checked against the original publisher's key.
      headers.put(Intake.ROUTING_KEY_HEADER, d.routingKey());
    }
    AMQP.BasicProperties props = d.properties().builder().headers(headers).deliveryMode(2).build();
    return supervisor.publish(names.deadLetterExchange(), sink.name(), props, d.body());
  }

  // ---------------------------------------------------------------- status and shutdown

  /**
   * The sink's health as operators see it: the sink's own view (e.g. a commit alarm), failing writes for longer than
   * {@code degradedAfter} (DEGRADED: retrying, nothing lost), and the broker subscription (DEGRADED while
   * reconnecting, DOWN when it has been missing for longer than ten times {@code degradedAfter}).
   */
  public SinkHealth health() {
    SinkHealth h = sink.health().worst(settler.writeHealth(settings.degradedAfter()));
    long since = supervisor.disconnectedSince();
    if (since != 0) {
      long ms = System.currentTimeMillis() - since;
      String why = "not consuming from the broker for " + ms / 1000 + " s: "
          + (supervisor.lastError() == null ? "connecting" : supervisor.lastError());
      h = h.worst(ms >= settings.degradedAfter().toMillis() * 10 ? SinkHealth.down(why) : SinkHealth.degraded(why));
    }
    return h;
  }

  public ConsumerStats stats() {
    return new ConsumerStats((long) received.count(), (long) redelivered.count(), settler.delivered(),
        settler.invalidCount(), settler.rejectedCount(), settler.deadLetteredCount(), settler.retriesCount(),
        settler.unsettled(), supervisor.connected(), supervisor.connections(),
        settler.lastError() != null ? settler.lastError() : supervisor.lastError());
  }

  /** Publish-to-ack latency histogram: bucket upper bound in ms -> messages in that bucket (not cumulative). */
  public Map<Long, Long> latencyHistogram() {
    Map<Long, Long> out = new java.util.LinkedHashMap<>();
    double prev = 0;
    for (var b : settler.latency().takeSnapshot().histogramCounts()) {
      out.put((long) b.bucket(), (long) (b.count() - prev));
      prev = b.count();
    }
    return out;
  }

  /** Publish-to-ack latency percentile in ms (0.5, 0.99, ...), or NaN before any message was acked. */
  public double latencyPercentile(double p) {
    for (var v : settler.latency().takeSnapshot().percentileValues()) {
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
    if (closing) {
      return;
    }
    supervisor.cancel();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!intake.isEmpty() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(20_000_000);
    }
    closing = true;
    sink.flush();
    while (inSink.get() > 0 && System.nanoTime() < deadline) {
      LockSupport.parkNanos(20_000_000);
    }
    scheduler.shutdownNow();
    dispatcher.interrupt();
    supervisor.close();
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }
}
