package io.iotpipe.core.retry;

import java.time.Duration;

/**
 * How long one message may keep failing in its sink before it counts as poison. Both bounds must be spent: at least
 * {@code attempts} tries and at least {@code time} since its first failure, so that neither a burst of quick retries
 * nor one slow attempt dead-letters a message early. A message is only dead-lettered when the sink delivered other
 * messages meanwhile; while every write fails (an outage) nothing is dead-lettered and the runtime keeps retrying.
 */
public record RetryBudget(int attempts, Duration time) {

  public static final RetryBudget DEFAULT = new RetryBudget(10, Duration.ofSeconds(60));

  public RetryBudget {
    if (attempts < 1 || time.isNegative()) {
      throw new IllegalArgumentException("attempts >= 1 and time >= 0 required");
    }
  }

  /** True when a message that failed {@code failures} times, the first {@code sinceFirstFailure} ago, spent its budget. */
  public boolean exhausted(int failures, Duration sinceFirstFailure) {
    return failures >= attempts && sinceFirstFailure.compareTo(time) >= 0;
  }
}
