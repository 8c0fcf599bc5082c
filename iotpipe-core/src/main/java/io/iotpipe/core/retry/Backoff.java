package io.iotpipe.core.retry;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Bounded exponential backoff with "equal jitter": the delay doubles per attempt up to {@code max}, and half of it is
 * randomised so that many consumers retrying against the same recovering server do not hit it in lock-step.
 */
public record Backoff(Duration initial, Duration max) {

  public static final Backoff DEFAULT = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30));

  public Backoff {
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("initial backoff must be > 0");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("max backoff must be >= initial");
    }
  }

  /** Delay before retry number {@code attempt} (1-based). */
  public Duration delay(int attempt) {
    long base = initial.toMillis();
    long cap = max.toMillis();
    int shift = Math.min(Math.max(attempt - 1, 0), 30);
    long exp = Math.min(cap, base << shift);
    long half = exp / 2;
    return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(half + 1));
  }
}
