package io.iotpipe.slo;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.SinkHealth;
import io.iotpipe.slo.sli.CompletenessTracker;
import io.iotpipe.slo.sli.FreshnessRecorder;
import io.iotpipe.slo.sli.SinkHealthGauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The names the rules and the dashboard use are the names a real Prometheus scrape of our registry shows. */
class SloMetricsTest {

  @Test
  void exposedNamesMatchTheConstants() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    long[] now = {0};
    CompletenessTracker t = new CompletenessTracker("elk", Duration.ofMinutes(5), 1000, 1_000_000, registry, () -> now[0]);
    t.delivered("d1", 1);
    t.delivered("d1", 3);
    FreshnessRecorder f = new FreshnessRecorder("elk", Duration.ofSeconds(5), registry);
    f.record(1000, 0, 0, 4000);
    SinkHealthGauge.register(registry, "elk", () -> SinkHealth.degraded("retrying"));

    String scrape = registry.scrape();

    assertThat(scrape).contains(SloMetrics.PROM_READINGS + "{sink=\"elk\"} 2");
    assertThat(scrape).contains(SloMetrics.PROM_MISSING + "{sink=\"elk\"} 0");
    assertThat(scrape).contains(SloMetrics.PROM_LATE + "{sink=\"elk\"}");
    assertThat(scrape).contains(SloMetrics.PROM_SEQ_RESETS + "{sink=\"elk\"}");
    assertThat(scrape).contains(SloMetrics.PROM_GAPS_OPEN + "{sink=\"elk\"} 1");
    assertThat(scrape).contains(SloMetrics.PROM_DEVICES_TRACKED + "{sink=\"elk\"} 1");
    assertThat(scrape).contains(SloMetrics.PROM_FRESHNESS_BUCKET + "{sink=\"elk\",le=\"" + Slos.le(Duration.ofSeconds(5)) + "\"} 1");
    assertThat(scrape).contains(SloMetrics.PROM_FRESHNESS_BUCKET + "{sink=\"elk\",le=\"" + Slos.le(Duration.ofMillis(2500)) + "\"} 0");
    assertThat(scrape).contains(SloMetrics.PROM_FRESHNESS_COUNT + "{sink=\"elk\"} 1");
    assertThat(scrape).contains(SloMetrics.PROM_FRESHNESS_SOURCE + "{sink=\"elk\",source=\"header\"} 1");
    assertThat(scrape).contains(SloMetrics.PROM_SINK_HEALTH + "{sink=\"elk\"} 1");
  }

  @Test
  void sinkHealthSurvivesGarbageCollection() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // as the consumer registers it: a method reference nobody else holds
    SinkHealthGauge.register(registry, "elk", new Object() {
      SinkHealth health() {
        return SinkHealth.down("disk full");
      }
    }::health);
    for (int i = 0; i < 5; i++) {
      System.gc();
    }
    assertThat(registry.scrape()).contains(SloMetrics.PROM_SINK_HEALTH + "{sink=\"elk\"} 2.0");
  }
}
