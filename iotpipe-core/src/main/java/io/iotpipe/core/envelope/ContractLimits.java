package io.iotpipe.core.envelope;

import java.time.Duration;

/**
 * Shape and size limits of the telemetry contract, and the policies for what a firmware may legitimately send that
 * this reader did not expect. Limits protect every downstream sink: one oversized or absurd message must end in the
 * dead-letter queue with a reason, not in an index mapping explosion or a broken file. Policies exist because the
 * fleet evolves faster than the pipeline: a firmware that adds a field or a charger whose clock runs ahead must not
 * dead-letter every reading of the devices concerned.
 *
 * @param maxBytes           largest accepted message body
 * @param maxMetrics         most metrics per reading
 * @param maxFutureSkew      how far in the future an event time may be before {@code futureTimestamps} decides
 * @param maxAge             how old an event time may be (devices buffer while offline, but not for years)
 * @param unknownFields      what happens to top-level fields this reader does not know
 * @param maxAttributes      most unknown fields kept per reading (policy {@code keep})
 * @param maxAttributeBytes  most bytes (UTF-8 names plus values) of the kept unknown fields of one reading
 * @param futureTimestamps   what happens to a reading more than {@code maxFutureSkew} ahead of the receiver's clock
 */
public record ContractLimits(int maxBytes, int maxMetrics, Duration maxFutureSkew, Duration maxAge,
                             UnknownFields unknownFields, int maxAttributes, int maxAttributeBytes,
                             FutureTimestamps futureTimestamps) {

  /** Top-level fields outside the envelope. */
  public enum UnknownFields {
    /** Kept, within {@code maxAttributes} and {@code maxAttributeBytes}, in the reading's attributes. */
    KEEP,
    /** Dropped; the reading lands without them. */
    DROP,
    /** The reading is dead-lettered (the contract before policies existed). */
    REJECT
  }

  /** Readings whose {@code ts} lies more than {@code maxFutureSkew} ahead of the receiver's clock. */
  public enum FutureTimestamps {
    /** Stored with the device's {@code ts}, flagged {@code clockAhead}. */
    KEEP,
    /** {@code ts} becomes the time the sink received it; the device's time is kept as {@code deviceTs}, flagged. */
    RECEIVE_TIME,
    /** Dead-lettered (the contract before policies existed). */
    REJECT
  }

  public static final ContractLimits DEFAULTS = new ContractLimits(16 * 1024, 64, Duration.ofMinutes(10),
      Duration.ofDays(400), UnknownFields.KEEP, 16, 1024, FutureTimestamps.KEEP);

  /** The limits alone, with the default policies. */
  public ContractLimits(int maxBytes, int maxMetrics, Duration maxFutureSkew, Duration maxAge) {
    this(maxBytes, maxMetrics, maxFutureSkew, maxAge, DEFAULTS.unknownFields, DEFAULTS.maxAttributes,
        DEFAULTS.maxAttributeBytes, DEFAULTS.futureTimestamps);
  }

  public ContractLimits withUnknownFields(UnknownFields policy) {
    return new ContractLimits(maxBytes, maxMetrics, maxFutureSkew, maxAge, policy, maxAttributes, maxAttributeBytes, futureTimestamps);
  }

  public ContractLimits withFutureTimestamps(FutureTimestamps policy) {
    return new ContractLimits(maxBytes, maxMetrics, maxFutureSkew, maxAge, unknownFields, maxAttributes, maxAttributeBytes, policy);
  }

  public ContractLimits withAttributeBounds(int count, int bytes) {
    return new ContractLimits(maxBytes, maxMetrics, maxFutureSkew, maxAge, unknownFields, count, bytes, futureTimestamps);
  }
}
