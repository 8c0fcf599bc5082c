package io.iotpipe.slo.sli;

import io.iotpipe.sink.SinkRecord;
import io.iotpipe.slo.SloMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * The freshness SLI of one sink: publish → durable latency as a Prometheus histogram whose bucket bounds include the
 * sink's target exactly, so the rules read "fresh" as one bucket ({@code le} = target) instead of interpolating.
 *
 * <p>The publish time is, in this order: the {@code x-published-at} header (epoch ms, set by our AMQP publishers),
 * the AMQP {@code timestamp} property (whole seconds), and for MQTT devices — MQTT 3.1.1 carries no headers and the
 * broker adds no timestamp — the reading's own {@code ts}, which is the device's clock: a device whose clock runs
 * ahead shows as fresher than it is (negative latencies are recorded as 0), one whose clock lags as staler. The
 * source is counted per kind in {@code iotpipe_sli_freshness_source_total} so a dashboard can tell them apart.
 */
public final class FreshnessRecorder {

  /** Where a reading's publish time came from. */
  public enum Source { HEADER, AMQP_TIMESTAMP, READING_TS }

  private final Timer latency;
  private final Map<Source, Counter> sources;

  public FreshnessRecorder(String sink, Duration target, MeterRegistry registry) {
    // Buckets: the target itself plus a spread around it, so the dashboard's percentiles stay meaningful.
    TreeSet<Duration> bounds = new TreeSet<>();
    for (long ms : new long[] {50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000}) {
      bounds.add(Duration.ofMillis(ms));
    }
    bounds.add(target);
    bounds.add(target.multipliedBy(2));
    this.latency = Timer.builder(SloMetrics.FRESHNESS).tag(SloMetrics.SINK, sink)
        .description("publish-to-durable latency (freshness SLI); a bucket sits at the target " + target)
        .serviceLevelObjectives(bounds.toArray(Duration[]::new))
        .register(registry);
    this.sources = new java.util.EnumMap<>(Source.class);
    for (Source s : Source.values()) {
      sources.put(s, Counter.builder(SloMetrics.FRESHNESS_SOURCE).tag(SloMetrics.SINK, sink)
          .tag("source", s.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'))
          .description("where the publish time of readings came from").register(registry));
    }
  }

  /**
   * Records one reading made durable at {@code durableAtMillis}.
   *
   * @param headerMillis the {@code x-published-at} header, or 0
   * @param amqpTimestampMillis the AMQP timestamp property in ms (seconds resolution), or 0
   * @param readingTsMillis the reading's {@code ts}
   */
  public void record(long headerMillis, long amqpTimestampMillis, long readingTsMillis, long durableAtMillis) {
    Source source;
    long published;
    if (headerMillis > 0) {
      source = Source.HEADER;
      published = headerMillis;
    } else if (amqpTimestampMillis > 0) {
      source = Source.AMQP_TIMESTAMP;
      published = amqpTimestampMillis;
    } else {
      source = Source.READING_TS;
      published = readingTsMillis;
    }
    sources.get(source).increment();
    latency.record(Math.max(0, durableAtMillis - published), TimeUnit.MILLISECONDS);
  }

  /**
   * Records a reading as the runtime hands it to sinks: {@link SinkRecord#publishedAt()} is the header or AMQP
   * timestamp (0 when neither was set, as for MQTT), else the reading's {@code ts} is used.
   */
  public void record(SinkRecord r, long durableAtMillis) {
    record(r.publishedAt(), 0, r.telemetry().ts().toEpochMilli(), durableAtMillis);
  }

  public long count() {
    return latency.count();
  }
}
