package io.iotpipe.tools.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's summary reads as sentences with units, never as JSON keys or Java maps; --json keeps the keys. */
class SummaryTextTest {

  static Map<String, Object> summary() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("published", 6000L);
    s.put("confirmed", 6000L);
    s.put("indexed", 6000L);
    s.put("stored", 6000L);
    s.put("deadLettered", 0L);
    s.put("lost", 0L);
    s.put("duplicates", 0L);
    s.put("latencyMs", new LinkedHashMap<>(Map.of("p50", 207L)));
    ((Map<String, Object>) s.get("latencyMs")).put("p99", 1151L);
    s.put("storageVisibilityP50Ms", 6112L);
    s.put("publishRatePerSecond", 100L);
    s.put("nacked", 0L);
    Map<String, Object> cpu = new LinkedHashMap<>();
    cpu.put("demoJvm", 22.4);
    cpu.put("edgeBroker", 14.2);
    cpu.put("cloudBrokers", 9.0);
    cpu.put("searchEngine", 31.7);
    s.put("cpuSecondsFleetToDrained", cpu);
    s.put("devices", 300);
    s.put("seconds", 95L);
    s.put("security", Map.of("tls", true));
    s.put("brokerQueuePeakDepths", Map.of("iotpipe.elk.p0", 12L));
    s.put("alerts", List.of());
    return s;
  }

  @Test
  void everyRowHasAHumanLabelAndItsUnit() {
    Map<String, String> rows = SummaryText.rows(summary(), Map.of("security", "SECURE: TLS only on every broker listener"));
    assertThat(rows).containsEntry("readings confirmed to the devices", "6000")
        .containsEntry("end-to-end latency to search", "p50 207 ms, p99 1151 ms")
        .containsEntry("storage visibility, median (until the file holding a reading commits)", "6112 ms")
        .containsEntry("publish rate", "100 readings/s")
        .containsEntry("CPU time from fleet start until drained",
            "demo JVM (fleet and the sinks) 22.4 s, edge broker 14.2 s, cloud brokers 9.0 s, search engine 31.7 s")
        .containsEntry("demo duration", "95 s")
        .containsEntry("security", "SECURE: TLS only on every broker listener")
        // keys without a label of their own still read as words
        .containsEntry("broker queue peak depths", "iotpipe.elk.p0 12")
        .containsEntry("alerts", "none");
    assertThat(String.join("\n", rows.keySet()) + "\n" + String.join("\n", rows.values()))
        .as("no machine key, no Java map").doesNotContain("storageVisibilityP50Ms").doesNotContain("cpuSeconds")
        .doesNotContain("demoJvm").doesNotContain("{").doesNotContain("=");
    assertThat(List.copyOf(rows.keySet()).subList(0, 3))
        .containsExactly("readings published by the fleet", "readings confirmed to the devices", "searchable in the index");
  }

  @Test
  void theReportTableShowsTheRowsAndTheJsonSummaryKeepsItsKeys(@TempDir Path dir) throws Exception {
    Map<String, Object> summary = summary();
    Path file = dir.resolve("report.html");
    HtmlReport.write(file, true, SummaryText.rows(summary, Map.of()), List.of(new Sample(0, 0, 0, 0, 0, 0, 0, 0, 0)), Map.of());
    assertThat(Files.readString(file)).contains("<th>end-to-end latency to search</th><td class=n>p50 207 ms, p99 1151 ms</td>")
        .doesNotContain("storageVisibilityP50Ms").doesNotContain("demoJvm=");
    assertThat(summary).containsKeys("storageVisibilityP50Ms", "cpuSecondsFleetToDrained", "latencyMs");
  }
}
