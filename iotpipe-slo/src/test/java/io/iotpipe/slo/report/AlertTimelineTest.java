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

  @Test
  void summarySaysWhenEachAlertFiredAfterTheFaultAndResolvedAfterRecovery() throws Exception {
    Map<String, String> ticket = new java.util.HashMap<>(PAGE);
    ticket.putAll(Map.of("slo", "freshness", "severity", "ticket", "long", "1d", "short", "2h"));
    timeline.poll(Instant.ofEpochSecond(100));
    current.add(new PrometheusApi.Alert(PAGE, "pending", "", "1"));
    current.add(new PrometheusApi.Alert(ticket, "pending", "", "1"));
    timeline.poll(Instant.ofEpochSecond(105));
    current.set(0, new PrometheusApi.Alert(PAGE, "firing", "", "1"));
    current.remove(1); // went pending only: its for: never elapsed, so it is not reported as fired
    timeline.poll(Instant.ofEpochSecond(112));
    current.clear();
    timeline.poll(Instant.ofEpochSecond(160));

    List<AlertTimeline.Span> spans = timeline.spans();
    assertThat(spans).hasSize(1);
    assertThat(AlertTimeline.summary(spans, Instant.ofEpochSecond(102), Instant.ofEpochSecond(130), Instant.ofEpochSecond(160)))
        .isEqualTo("page availability/elk 1h/5m: fired +10 s, resolved +30 s after recovery");

    current.add(new PrometheusApi.Alert(ticket, "firing", "", "1"));
    timeline.poll(Instant.ofEpochSecond(170));
    assertThat(AlertTimeline.summary(timeline.spans(), Instant.ofEpochSecond(102), Instant.ofEpochSecond(130), Instant.ofEpochSecond(175)))
        .endsWith("; ticket freshness/elk 1d/2h: fired +68 s, still firing at the end, 45 s after recovery");
    assertThat(AlertTimeline.summary(List.of(), Instant.EPOCH, Instant.EPOCH, Instant.EPOCH)).isEqualTo("none fired");
  }
}
