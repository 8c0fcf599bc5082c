package io.iotpipe.runtime.consume;

import io.iotpipe.core.Reasons;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkHealth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.iotpipe.slo.sli.SinkSlis;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns what the sink said about each delivery into exactly one broker action — the only place in iotpipe that
 * decides to ack:
 * <ul>
 *   <li>{@code Delivered}: acked (settled deliveries of a channel are acked together, see {@link Subscription}).</li>
 *   <li>{@code Reject}, or a contract violation: published to the dead-letter exchange with the reason, acked only
 *       after that publish was confirmed; if it fails the message stays unacked and is tried again.</li>
 *   <li>{@code Retry}, or a failed batch: offered again after a bounded exponential backoff. A message that keeps
 *       failing past its {@link RetryBudget} <em>while the sink delivers other messages between its attempts</em>
 *       is poison: it is dead-lettered with {@code retries exhausted: <last error>} and its partition moves on. While
 *       every write fails (an outage) nothing is dead-lettered: the sink keeps retrying and health says DEGRADED.</li>
 * </ul>
 * Deliveries whose channel died are dropped here: the broker has requeued them and delivers them again.
 */
final class Settler {

  private static final Logger LOG = LoggerFactory.getLogger(Settler.class);

  /** Publishes a delivery to the dead-letter exchange with a reason; completes when the broker confirmed it. */
  interface DeadLetterer {
    CompletionStage<Void> publish(Delivery d, String reason);
  }

  /** Offers a delivery again after a delay. */
  interface Retrier {
    void later(Delivery d, Duration delay);
  }

  private final String sink;
  private final RetryBudget budget;
  private final Backoff backoff;
  private final DeadLetterer deadLetterer;
  private final Retrier retrier;
  private final LongSupplier clock;
  private final SinkSlis slis;

  private final AtomicInteger unsettled = new AtomicInteger();
  private volatile long lastSuccess;
  /** Epoch millis of the first failed write since the last success; 0 while writes succeed. */
  private volatile long failingSince;
  private volatile String lastError;

  private final Counter delivered;
  private final Counter invalid;
  private final Counter rejected;
  private final Counter deadLettered;
  private final Counter exhausted;
  private final Counter retries;
  private final DistributionSummary latency;

  Settler(String sink, RetryBudget budget, Backoff backoff, DeadLetterer deadLetterer, Retrier retrier,
          LongSupplier clock, MeterRegistry registry, SinkSlis slis) {
    this.slis = slis;
    this.sink = sink;
    this.budget = budget;
    this.backoff = backoff;
    this.deadLetterer = deadLetterer;
    this.retrier = retrier;
    this.clock = clock;
    this.delivered = Counter.builder("iotpipe.consumer.delivered").tag("sink", sink).description("messages acked after the sink made them durable").register(registry);
    this.invalid = Counter.builder("iotpipe.consumer.invalid").tag("sink", sink).description("messages failing the telemetry contract or the identity check").register(registry);
    this.rejected = Counter.builder("iotpipe.consumer.rejected").tag("sink", sink).description("messages the sink refused permanently").register(registry);
    this.deadLettered = Counter.builder("iotpipe.consumer.dead_lettered").tag("sink", sink).description("messages moved to the dead-letter queue").register(registry);
    this.exhausted = Counter.builder("iotpipe.consumer.retries_exhausted").tag("sink", sink).description("poison messages dead-lettered after their retry budget").register(registry);
    this.retries = Counter.builder("iotpipe.consumer.retries").tag("sink", sink).description("transient sink failures retried after backoff").register(registry);
    this.latency = DistributionSummary.builder("iotpipe.consumer.latency").tag("sink", sink).baseUnit("milliseconds")
        .description("publish-to-durable latency").publishPercentiles(0.5, 0.9, 0.99).distributionStatisticExpiry(Duration.ofMinutes(10))
        .serviceLevelObjectives(10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000)
        .distributionStatisticBufferLength(2).register(registry);
  }

  /** A delivery was received: it stays counted until it is settled one way or another. */
  void received() {
    unsettled.incrementAndGet();
  }

  /** A contract or identity violation: straight to the dead-letter queue. */
  void invalid(Delivery d) {
    invalid.increment();
    deadLetter(d, d.invalidReason());
  }

  /** Settles a batch the sink answered; {@code error} or a wrong count fails the whole batch (retried). */
  void settle(List<Delivery> batch, List<Outcome> outcomes, Throwable error) {
    long now = clock.getAsLong();
    if (error != null || outcomes == null || outcomes.size() != batch.size()) {
      String why = error != null ? String.valueOf(error.getMessage())
          : "sink returned " + (outcomes == null ? "no" : outcomes.size()) + " outcomes for " + batch.size() + " records";
      LOG.warn("{}: batch of {} failed ({}); retrying", sink, batch.size(), why);
      batch.forEach(d -> failed(d, why, now));
      return;
    }
    // Success is noted before the failures of this batch are judged: a batch with one poison record and good ones
    // proves the sink works, so the poison record's budget counts.
    if (outcomes.stream().anyMatch(o -> o instanceof Outcome.Delivered)) {
      lastSuccess = now;
      failingSince = 0;
    }
    Map<Source, List<Delivery>> toAck = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      Delivery d = batch.get(i);
      switch (outcomes.get(i)) {
        case Outcome.Delivered ignored -> toAck.computeIfAbsent(d.source(), k -> new ArrayList<>()).add(d);
        case Outcome.Retry r -> failed(d, r.reason(), now);
        case Outcome.Reject r -> {
          rejected.increment();
          deadLetter(d, sink + " rejected: " + r.reason());
        }
      }
    }
    toAck.forEach((source, ds) -> {
      if (source.ack(ds.stream().map(Delivery::tag).toList())) {
        delivered.increment(ds.size());
        for (Delivery d : ds) {
          long published = d.record().publishedAt();
          if (published > 0 && now >= published) {
            latency.record(now - published);
          }
          slis.durable(d.record(), now);
        }
      }
      unsettled.addAndGet(-ds.size());
    });
  }

  private void failed(Delivery d, String reason, long now) {
    lastError = sink + ": " + reason;
    if (failingSince == 0 && lastSuccess != now) {
      failingSince = now;
    }
    Delivery next = d.failed(reason, now);
    // Poison, not an outage: other messages were delivered since this one's previous failure. During an outage
    // nothing succeeds between two failures, however long it lasts, so nothing is dead-lettered.
    boolean othersSucceed = d.lastFailure() != 0 && lastSuccess >= d.lastFailure();
    if (othersSucceed && budget.exhausted(next.failures(), Duration.ofMillis(now - next.firstFailure()))) {
      exhausted.increment();
      LOG.warn("{}: {} failed {} times over {} s while other messages were delivered: dead-lettering it", sink,
          describe(next), next.failures(), (now - next.firstFailure()) / 1000);
      deadLetter(next, "retries exhausted: " + reason);
      return;
    }
    retryLater(next);
  }

  private void retryLater(Delivery d) {
    if (!d.source().alive()) {
      stale();
      return;
    }
    retries.increment();
    retrier.later(d, backoff.delay(Math.max(1, d.failures())));
  }

  void deadLetter(Delivery d, String reason) {
    String safe = Reasons.sanitize(reason);
    deadLetterer.publish(d, safe).whenComplete((ok, err) -> {
      if (err == null && d.source().ack(List.of(d.tag()))) {
        deadLettered.increment();
        if (d.record() != null) {
          slis.deadLettered(d.record());
        }
        unsettled.decrementAndGet();
      } else if (err == null) {
        stale();
      } else {
        lastError = sink + ": dead-letter publish failed: " + err.getMessage();
        LOG.warn("{}; the message stays on its queue and is tried again", lastError);
        retryLater(d.failed("dead-letter publish failed", clock.getAsLong()));
      }
    });
  }

  /** Its channel is gone: the broker has requeued it and will deliver it again. */
  void stale() {
    unsettled.decrementAndGet();
  }

  private static String describe(Delivery d) {
    return d.record() == null ? "message " + d.tag()
        : "reading (" + Reasons.quote(d.record().telemetry().deviceId(), 100) + ", " + d.record().telemetry().seq() + ")";
  }

  int unsettled() {
    return unsettled.get();
  }

  String lastError() {
    return lastError;
  }

  /** DEGRADED while writes have been failing for longer than {@code threshold}, with the last error. */
  SinkHealth writeHealth(Duration threshold) {
    long since = failingSince;
    if (since != 0 && clock.getAsLong() - since >= threshold.toMillis()) {
      return SinkHealth.degraded("writes failing for " + (clock.getAsLong() - since) / 1000 + " s, retrying: " + lastError);
    }
    return SinkHealth.UP;
  }

  /** 1 while writes are failing (since when, in epoch millis), for the gauge. */
  long failingSince() {
    return failingSince;
  }

  long delivered() {
    return (long) delivered.count();
  }

  long invalidCount() {
    return (long) invalid.count();
  }

  long rejectedCount() {
    return (long) rejected.count();
  }

  long deadLetteredCount() {
    return (long) deadLettered.count();
  }

  long retriesCount() {
    return (long) retries.count();
  }

  DistributionSummary latency() {
    return latency;
  }
}
