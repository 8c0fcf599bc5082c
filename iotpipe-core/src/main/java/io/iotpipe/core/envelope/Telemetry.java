package io.iotpipe.core.envelope;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One telemetry reading of one device: the message envelope every stage of the pipeline agrees on.
 *
 * <p>{@code (deviceId, seq)} identifies a reading. {@code seq} increases by one per reading of a device, so a
 * consumer can detect gaps and duplicates and sinks can derive idempotent ids from it.
 *
 * @param deviceId   stable device identifier, also the partitioning key
 * @param seq        per-device sequence number, starting at 1, strictly increasing
 * @param ts         event time (when the device measured), UTC; the receive time when the contract replaced a device
 *                   time that lay too far ahead ({@link #deviceTs()} then holds the device's)
 * @param site       where the device is installed (e.g. a charging park)
 * @param region     the region the device belongs to (e.g. {@code eu-west})
 * @param status     device state, e.g. {@code CHARGING}
 * @param errorCode  vendor error code when the device reports a fault, else {@code null}
 * @param metrics    numeric measurements by name (power kW, energy kWh, ...); never {@code null}
 * @param attributes fields the envelope does not define (a newer firmware's), kept by the contract's
 *                   {@code unknownFields: keep}: name to text (a non-string value as its JSON text), in the order the
 *                   device sent them; never {@code null}
 * @param deviceTs   the device's own {@code ts} when {@code ts} was replaced by the receive time, else {@code null}
 * @param clockAhead the device's {@code ts} lay more than {@code contract.maxFutureSkew} ahead of the receiver's clock
 * @param tenant     the customer the device belongs to, stamped by the runtime from the tenant registry (never taken
 *                   from the body), or {@code null} for a device without a tenant
 */
public record Telemetry(String deviceId, long seq, Instant ts, String site, String region, String status,
                        String errorCode, Map<String, Double> metrics, Map<String, String> attributes,
                        Instant deviceTs, boolean clockAhead, String tenant) {

  /** Envelope version written into every envelope this pipeline produces. */
  public static final int VERSION = 1;
  /** The newest envelope version this reader understands (see the README's envelope section for what 2 may change). */
  public static final int NEWEST_VERSION = 2;

  public Telemetry {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(ts, "ts");
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    // insertion order kept: it is the device's, and the order in which the bounds were applied
    attributes = attributes == null || attributes.isEmpty() ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
  }

  /** A reading without a tenant (as decoded, before the runtime stamps it). */
  public Telemetry(String deviceId, long seq, Instant ts, String site, String region, String status,
                   String errorCode, Map<String, Double> metrics, Map<String, String> attributes,
                   Instant deviceTs, boolean clockAhead) {
    this(deviceId, seq, ts, site, region, status, errorCode, metrics, attributes, deviceTs, clockAhead, null);
  }

  /** A reading as devices send it: no attributes, its own time. */
  public Telemetry(String deviceId, long seq, Instant ts, String site, String region, String status, String errorCode,
                   Map<String, Double> metrics) {
    this(deviceId, seq, ts, site, region, status, errorCode, metrics, Map.of(), null, false);
  }

  /** The idempotency key used by sinks: the same reading always maps to the same id. */
  public String id() {
    return deviceId + ":" + seq;
  }

  /**
   * The time the device gave this reading: {@link #deviceTs()} when the contract replaced it, else {@link #ts()}.
   * Sinks compare readings by this, not by {@code ts}: a receive time differs between deliveries of the same reading.
   */
  public Instant sentTs() {
    return deviceTs != null ? deviceTs : ts;
  }

  /** This reading with other attributes (privacy), everything else the same. */
  public Telemetry withAttributes(Map<String, String> attributes) {
    return new Telemetry(deviceId, seq, ts, site, region, status, errorCode, metrics, attributes, deviceTs, clockAhead, tenant);
  }

  /** This reading stamped with its device's tenant (from the registry), everything else the same. */
  public Telemetry withTenant(String tenant) {
    return new Telemetry(deviceId, seq, ts, site, region, status, errorCode, metrics, attributes, deviceTs, clockAhead, tenant);
  }

  /** This reading with other device-identifying fields (privacy), everything else the same. */
  public Telemetry withIdentity(String deviceId, String site, String region, String status, String errorCode) {
    return new Telemetry(deviceId, seq, ts, site, region, status, errorCode, metrics, attributes, deviceTs, clockAhead, tenant);
  }
}
