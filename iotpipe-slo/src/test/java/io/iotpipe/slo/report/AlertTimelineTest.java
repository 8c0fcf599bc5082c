package io.iotpipe.slo.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AlertTimelineTest {

  private final List<PrometheusApi.Alert> current = new ArrayList<>();
  private final AlertTimeline timeline = new AlertTimeline(() -> List.copyOf(current));
  private static final Map<String, String> PAGE = Map.of("alertname", "IotpipeErrorBudgetBurn", "slo", "availability",
      "sink", "elk", "severity", "page", "long", "1h", "short", "5m");

  @Test
  void recordsPendingFiringAndResolvedOnce() throws Exception {
    timeline.poll(Instant.ofEpochSecond(0));
    current.add(new PrometheusApi.Alert(PAGE, "pending", "", "1"));
    timeline.poll(Instant.ofEpochSecond(1));
    timeline.poll(Instant.ofEpochSecond(2));
    current.set(0, new PrometheusApi.Alert(PAGE, "firing", "", "1"));
    timeline.poll(Instant.ofEpochSecond(3));
    current.clear();
    timeline.poll(Instant.ofEpochSecond(9));
    assertThat(timeline.events()).extracting(AlertTimeline.Event::state).containsExactly("pending", "firing", "resolved");
    assertThat(timeline.events()).extracting(e -> e.at().getEpochSecond()).containsExactly(1L, 3L, 9L);
    assertThat(timeline.reached(Map.of("severity", "page", "sink", "elk"), "firing")).isTrue();
    assertThat(timeline.reached(Map.of("severity", "ticket"), "firing")).isFalse();
  }
}
