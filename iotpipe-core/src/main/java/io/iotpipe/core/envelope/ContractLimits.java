package io.iotpipe.core.envelope;

import java.time.Duration;

/**
 * Shape and size limits of the telemetry contract. Limits protect every downstream sink: one oversized or absurd
 * message must end in the dead-letter queue with a reason, not in an index mapping explosion or a broken file.
 *
 * @param maxBytes      largest accepted message body
 * @param maxMetrics    most metrics per reading
 * @param maxFutureSkew how far in the future an event time may be (device clocks drift; beyond this it is a bug)
 * @param maxAge        how old an event time may be (devices buffer while offline, but not for years)
 */
public record ContractLimits(int maxBytes, int maxMetrics, Duration maxFutureSkew, Duration maxAge) {
  public static final ContractLimits DEFAULTS = new ContractLimits(16 * 1024, 64, Duration.ofMinutes(10), Duration.ofDays(400));
}
