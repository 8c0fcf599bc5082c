package io.iotpipe.core.envelope;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One telemetry reading of one device: the message envelope every stage of the pipeline agrees on.
 *
 * <p>{@code (deviceId, seq)} identifies a reading. {@code seq} increases by one per reading of a device, so a
 * consumer can detect gaps and duplicates and sinks can derive idempotent ids from it.
 *
 * @param deviceId  stable device identifier, also the partitioning key
 * @param seq       per-device sequence number, starting at 1, strictly increasing
 * @param ts        event time (when the device measured), UTC
 * @param site      where the device is installed (e.g. a charging park)
 * @param region    the region the device belongs to (e.g. {@code eu-west})
 * @param status    device state, e.g. {@code CHARGING}
 * @param errorCode vendor error code when the device reports a fault, else {@code null}
 * @param metrics   numeric measurements by name (power kW, energy kWh, ...); never {@code null}
 */
public record Telemetry(String deviceId, long seq, Instant ts, String site, String region, String status,
                        String errorCode, Map<String, Double> metrics) {

  /** Schema version written into every envelope; readers reject versions they do not know. */
  public static final int VERSION = 1;

  public Telemetry {
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(ts, "ts");
    metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
  }

  /** The idempotency key used by sinks: the same reading always maps to the same id. */
  public String id() {
    return deviceId + ":" + seq;
  }
}
