package io.iotpipe.core.config;

import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import java.time.Duration;

/**
 * How a sink consumes its partition queues. Shared by every sink, so the indexer and the storage writer are tuned
 * with the same keys.
 *
 * @param prefetch    unacked messages per partition queue (the broker stops delivering past it: the memory bound)
 * @param batchMax    most records per batch handed to the sink
 * @param batchBytes  most body bytes per batch
 * @param batchWait   longest a partial batch waits before it is handed over anyway
 * @param backoff     retry delays for transient sink failures
 * @param retry       how long one message may keep failing while others succeed before it is dead-lettered
 * @param degradedAfter how long writes may keep failing before health says DEGRADED (and DOWN after 10x that)
 * @param maxRate     most messages per second handed to the sink, 0 = unlimited: protects a shared engine while a
 *                    backlog drains (after an outage or a rush hour) at the price of a longer catch-up
 */
public record ConsumerSettings(int prefetch, int batchMax, long batchBytes, Duration batchWait, Backoff backoff,
                               RetryBudget retry, Duration degradedAfter, int maxRate) {

  /** The settings without a rate limit (tests, benchmarks). */
  public ConsumerSettings(int prefetch, int batchMax, long batchBytes, Duration batchWait, Backoff backoff,
                          RetryBudget retry, Duration degradedAfter) {
    this(prefetch, batchMax, batchBytes, batchWait, backoff, retry, degradedAfter, 0);
  }

  /** Reads a {@code consumer:} section (sinks of plugin modules read theirs with it too). */
  public static ConsumerSettings read(ConfigNode c, int defaultPrefetch, int defaultBatch, Duration defaultWait) {
    int prefetch = c.integer("prefetch", defaultPrefetch, 1, 65_535);
    int batchMax = c.integer("batchMax", defaultBatch, 1, 100_000);
    long batchBytes = c.bytes("batchBytes", 5L << 20, 1, ConfigUnits.MAX_BYTES);
    Duration batchWait = c.duration("batchWait", defaultWait);
    ConfigNode b = c.child("backoff");
    Duration initial = b.duration("initial", Backoff.DEFAULT.initial(), Duration.ofMillis(1), ConfigUnits.MAX_DURATION);
    Duration max = b.duration("max", Backoff.DEFAULT.max());
    b.finish();
    if (!b.check("max", "must be at least backoff.initial", max.compareTo(initial) >= 0,
        ConfigUnits.formatDuration(max) + " with initial " + ConfigUnits.formatDuration(initial))) {
      initial = Backoff.DEFAULT.initial();
      max = Backoff.DEFAULT.max();
    }
    ConfigNode r = c.child("retry");
    int attempts = r.integer("attempts", RetryBudget.DEFAULT.attempts(), 1, 1_000_000);
    Duration time = r.duration("time", RetryBudget.DEFAULT.time());
    r.finish();
    Duration degradedAfter = c.duration("degradedAfter", Duration.ofSeconds(10));
    int maxRate = c.integer("maxRate", 0, 0, 10_000_000);
    c.finish();
    return new ConsumerSettings(prefetch, batchMax, batchBytes, batchWait, new Backoff(initial, max),
        new RetryBudget(attempts, time), degradedAfter, maxRate);
  }

  /** The same settings with another prefetch (the runner lowers it so that the bytes in flight fit the heap). */
  public ConsumerSettings withPrefetch(int newPrefetch) {
    return new ConsumerSettings(newPrefetch, batchMax, batchBytes, batchWait, backoff, retry, degradedAfter, maxRate);
  }
}
