package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PromTextTest {

  private static final List<String> PAGE = List.of(
      "# HELP iotpipe_consumer_delivered_total messages acked",
      "# TYPE iotpipe_consumer_delivered_total counter",
      "iotpipe_consumer_delivered_total{instance=\"i-1\",sink=\"elk\"} 1200.0",
      "iotpipe_consumer_delivered_total{instance=\"i-1\",sink=\"storage\"} 800.0",
      "iotpipe_consumer_latency_milliseconds_bucket{instance=\"i-1\",sink=\"elk\",le=\"10.0\"} 0",
      "iotpipe_consumer_latency_milliseconds_bucket{instance=\"i-1\",sink=\"elk\",le=\"100.0\"} 50",
      "iotpipe_consumer_latency_milliseconds_bucket{instance=\"i-1\",sink=\"elk\",le=\"1000.0\"} 99",
      "iotpipe_consumer_latency_milliseconds_bucket{instance=\"i-1\",sink=\"elk\",le=\"+Inf\"} 100",
      "iotpipe_jvm_heap_peak_bytes{instance=\"i-1\"} 1.048576E8");

  @Test
  void sumsCountersByLabel() {
    assertThat(PromText.sum(PAGE, "iotpipe_consumer_delivered_total", Map.of())).isEqualTo(2000);
    assertThat(PromText.sum(PAGE, "iotpipe_consumer_delivered_total", Map.of("sink", "elk"))).isEqualTo(1200);
    assertThat(PromText.sum(PAGE, "iotpipe_jvm_heap_peak_bytes", Map.of())).isEqualTo(104_857_600);
  }

  @Test
  void quantilesInterpolateWithinTheirBucket() {
    TreeMap<Double, Double> b = PromText.buckets(PAGE, "iotpipe_consumer_latency_milliseconds", Map.of("sink", "elk"));
    assertThat(b).hasSize(4);
    assertThat(PromText.quantile(b, 0.5)).isCloseTo(100, within(1e-9)); // exactly the 50th of 100 at the bound
    assertThat(PromText.quantile(b, 0.25)).isCloseTo(55, within(1e-9)); // half way through (10, 100]
    assertThat(PromText.quantile(b, 0.999)).isEqualTo(1000); // in +Inf: the highest finite bound
  }

  @Test
  void aDifferenceOfSnapshotsIsTheHistogramOfTheInterval() {
    TreeMap<Double, Double> before = new TreeMap<>(Map.of(10.0, 10.0, 100.0, 10.0, Double.POSITIVE_INFINITY, 10.0));
    TreeMap<Double, Double> after = new TreeMap<>(Map.of(10.0, 10.0, 100.0, 110.0, Double.POSITIVE_INFINITY, 110.0));
    TreeMap<Double, Double> d = PromText.minus(after, before);
    assertThat(PromText.quantile(d, 0.5)).isCloseTo(55, within(1e-9)); // all 100 new ones in (10, 100]
    assertThat(PromText.quantile(new TreeMap<>(), 0.5)).isNaN();
  }
}
