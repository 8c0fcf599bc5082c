package io.iotpipe.slo.sli;

import io.iotpipe.core.config.SloConfig;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The live SLIs of one sink, as the runtime calls them: {@link #durable} where a reading is acked after the sink
 * made it durable, {@link #deadLettered} where a decodable reading is dead-lettered, {@link #sweep} about once a
 * second (from any scheduler). Thread-safe.
 */
public final class SinkSlis {

  private final CompletenessTracker completeness;
  private final FreshnessRecorder freshness;

  public SinkSlis(String sink, SloConfig slo, MeterRegistry registry) {
    this.completeness = new CompletenessTracker(sink, slo.completeness(), registry);
    SloConfig.Freshness f = slo.freshness().get(sink);
    this.freshness = new FreshnessRecorder(sink, f == null ? SloConfig.SEARCH_WITHIN : f.within(), registry);
  }

  /** A reading acked because it is durable in the sink, at {@code durableAtMillis}. */
  public void durable(SinkRecord r, long durableAtMillis) {
    completeness.delivered(r.telemetry().deviceId(), r.telemetry().seq());
    freshness.record(r, durableAtMillis);
  }

  /** A decodable reading sent to the dead-letter queue (invalid bodies have no seq and are not passed here). */
  public void deadLettered(SinkRecord r) {
    completeness.deadLettered(r.telemetry().deviceId(), r.telemetry().seq());
  }

  public void sweep() {
    completeness.sweep();
  }

  public CompletenessTracker completeness() {
    return completeness;
  }

  public FreshnessRecorder freshness() {
    return freshness;
  }
}
