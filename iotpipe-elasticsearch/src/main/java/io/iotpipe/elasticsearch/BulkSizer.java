package io.iotpipe.elasticsearch;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * The largest {@code _bulk} body the engine, or a proxy in front of it, takes, learned from its
 * {@code 413 Request Entity Too Large} answers: after a refusal, bulks are cut (halved) below the refused size before
 * they are sent, so later bulks do not pay a refused round trip each. The limit grows back carefully, because a limit
 * an operator has since raised should not cost throughput forever: after {@link #GROW_AFTER} bulks in a row passed
 * near it, it grows by a quarter, but not up to a size that was refused within {@link #REMEMBER_REFUSAL}; after that
 * the refusal is forgotten and one probe above it may be refused again (which only costs a split).
 *
 * <p>Thread-safe: bulks of several consumer threads and in-flight responses report here.
 */
final class BulkSizer {

  /** Successful bulks near the limit before it grows. */
  static final int GROW_AFTER = 20;
  /** How long a refused size caps the growth. */
  static final Duration REMEMBER_REFUSAL = Duration.ofMinutes(10);
  /** No limit learned: bulks go as the consumer batched them. */
  static final long UNLIMITED = Long.MAX_VALUE;

  private final Clock clock;
  private long limit = UNLIMITED;
  /** The smallest body refused since {@link #refusedAt}, or {@link #UNLIMITED}. */
  private long refused = UNLIMITED;
  private Instant refusedAt = Instant.MIN;
  /** The largest body that passed since the last refusal. */
  private long passed;
  private int passedNearLimit;

  BulkSizer(Clock clock) {
    this.clock = clock;
  }

  /** The largest body to send now, in bytes ({@link #UNLIMITED} until a 413 was seen). */
  synchronized long limit() {
    return limit;
  }

  /**
   * A body of {@code bytes} was refused with 413. The limit drops to the largest body that passed since the previous
   * refusal, or to half the refused size (the size its halves will have) if that is larger: a refused probe above a
   * limit that worked keeps that limit, and a limit the operator lowered is found by halving.
   */
  synchronized void refused(long bytes) {
    if (Duration.between(refusedAt, clock.instant()).compareTo(REMEMBER_REFUSAL) >= 0) {
      refused = UNLIMITED;
    }
    refused = Math.min(refused, bytes);
    refusedAt = clock.instant();
    long passedBelow = passed < bytes ? passed : 0;
    limit = Math.max(1, Math.min(limit, Math.max(bytes / 2, passedBelow)));
    passed = 0;
    passedNearLimit = 0;
  }

  /** A body of {@code bytes} was taken by the engine (whatever its items said). */
  synchronized void passed(long bytes) {
    passed = Math.max(passed, bytes);
    if (limit == UNLIMITED) {
      return;
    }
    if (limit > bytes && limit - bytes > limit / 2) {
      return; // a small bulk says nothing about the limit
    }
    if (++passedNearLimit < GROW_AFTER) {
      return;
    }
    passedNearLimit = 0;
    if (refused != UNLIMITED && Duration.between(refusedAt, clock.instant()).compareTo(REMEMBER_REFUSAL) >= 0) {
      refused = UNLIMITED;
    }
    long grown = limit + Math.max(1, limit / 4);
    limit = refused == UNLIMITED ? grown : Math.min(grown, refused - 1);
  }
}
