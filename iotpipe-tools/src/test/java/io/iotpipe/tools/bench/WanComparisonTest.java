package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.TopologyConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WanComparisonTest {

  /** A topology's summary over two rounds: its rates and per-process CPU per round. */
  static Map<String, Object> run(List<Double> sustained, List<Double> cloudBroker, List<Double> indexer, List<Double> store) {
    return Map.of("sustainedReadingsPerSec", Stats.of(sustained, 0), "cpuSecondsPer100k", Map.of(
        "cloudBroker", Stats.of(cloudBroker, 2), "indexer", Stats.of(indexer, 2), "store", Stats.of(store, 2)));
  }

  @Test
  @SuppressWarnings("unchecked")
  void theCloudTierIsTheMedianOfPerRoundSumsAndRatiosAreBatchOverShovel() {
    Map<String, Object> shovel = run(List.of(1000.0, 1400.0, 1200.0), List.of(30.0, 40.0, 50.0), List.of(10.0, 8.0, 6.0), List.of(10.0, 12.0, 8.0));
    Map<String, Object> batch = run(List.of(2600.0, 2400.0, 2500.0), List.of(5.0, 6.0, 7.0), List.of(4.0, 4.0, 4.0), List.of(3.0, 3.0, 3.0));
    Map<String, Object> c = WanComparison.compare(shovel, batch);
    assertThat((Map<String, Double>) c.get("sustainedReadingsPerSec")).containsEntry("shovel", 1200.0).containsEntry("batch", 2500.0)
        .containsEntry("ratio", 2.08);
    // per-round sums 50, 60, 64 (median 60) and 12, 13, 14 (median 13): not the sum of the medians (40 + 8 + 10 = 58)
    assertThat((Map<String, Double>) c.get("cloudTierCpuSecondsPer100k")).containsEntry("shovel", 60.0).containsEntry("batch", 13.0)
        .containsEntry("ratio", 0.22);
    assertThat(c.get("sustainedTarget")).asString().endsWith("met").doesNotContain("not met");
    assertThat(c.get("cloudTierTarget")).asString().doesNotContain("not met");
  }

  @Test
  void theTableNamesBothTopologiesAndATargetMissedIsSaid() {
    Map<String, Object> shovel = run(List.of(1000.0), List.of(30.0), List.of(10.0), List.of(10.0));
    Map<String, Object> batch = run(List.of(1500.0), List.of(20.0), List.of(10.0), List.of(10.0));
    String t = WanComparison.table(shovel, batch);
    assertThat(t).containsPattern("sustained readings/s\\s+1000\\s+1500\\s+1\\.50")
        .containsPattern("CPU s/100k cloud tier\\s+50\\.00\\s+40\\.00\\s+0\\.80")
        .contains("batch >= 2.0 x shovel: not met").contains("batch <= 0.25 x shovel: not met");
  }

  @Test
  void batchModeIsWrittenIntoTheTopologySectionAndTheShovelLeavesTheConfigAlone() {
    var s = new E2eBench.Settings(4, 1, "256m", 1000, 1.5, Duration.ofSeconds(10), 5, 100, Duration.ofSeconds(10), Duration.ofSeconds(2));
    String yaml = "brokers:\n  edge: {}\ntopology:\n  prefix: x\n  partitions: 4\n";
    assertThat(s.wanYaml(yaml)).isEqualTo(yaml);
    assertThat(s.withWan(TopologyConfig.WanMode.BATCH).wanYaml(yaml)).contains("topology:\n  wan: {mode: batch}\n  prefix: x\n");
    assertThatThrownBy(() -> s.withWan(TopologyConfig.WanMode.BATCH).wanYaml("brokers: {}\n")).hasMessageContaining("no topology: section");
  }
}
