package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopologyComparisonTest {

  /** A topology's summary over rounds: its rates and per-process CPU per round. */
  static Map<String, Object> run(List<Double> sustained, List<Double> cloudBroker, List<Double> indexer, List<Double> store) {
    return Map.of("sustainedReadingsPerSec", Stats.of(sustained, 0), "cpuSecondsPer100k", Map.of(
        "cloudBroker", Stats.of(cloudBroker, 2), "indexer", Stats.of(indexer, 2), "store", Stats.of(store, 2)));
  }

  static Map<String, Map<String, Object>> three() {
    Map<String, Map<String, Object>> m = new LinkedHashMap<>();
    m.put("fanout", run(List.of(1000.0, 1400.0, 1200.0), List.of(30.0, 40.0, 50.0), List.of(10.0, 8.0, 6.0), List.of(10.0, 12.0, 8.0)));
    m.put("batch", run(List.of(1500.0, 1500.0, 1500.0), List.of(20.0, 20.0, 20.0), List.of(10.0, 10.0, 10.0), List.of(10.0, 10.0, 10.0)));
    m.put("streams", run(List.of(2600.0, 2400.0, 2500.0), List.of(5.0, 6.0, 7.0), List.of(4.0, 4.0, 4.0), List.of(3.0, 3.0, 3.0)));
    return m;
  }

  @Test
  @SuppressWarnings("unchecked")
  void theCloudTierIsTheMedianOfPerRoundSumsAndEachRatioIsToTheFirstTopology() {
    Map<String, Object> c = TopologyComparison.compare(three());
    assertThat((Map<String, Double>) c.get("sustainedReadingsPerSec")).containsEntry("fanout", 1200.0).containsEntry("streams", 2500.0)
        .containsEntry("streams/fanout", 2.08).containsEntry("batch/fanout", 1.25);
    // per-round sums 50, 60, 64 (median 60) and 12, 13, 14 (median 13): not the sum of the medians (40 + 8 + 10 = 58)
    assertThat((Map<String, Double>) c.get("cloudTierCpuSecondsPer100k")).containsEntry("fanout", 60.0).containsEntry("streams", 13.0)
        .containsEntry("streams/fanout", 0.22);
    Map<String, String> targets = (Map<String, String>) c.get("targets");
    assertThat(targets.get("streams")).contains("sustained 2.08x (target >= 2.0x: met)").contains("cloud tier CPU 0.22x (target <= 0.25x: met)");
    assertThat(targets.get("batch")).contains("not met");
    assertThat(targets).doesNotContainKey("fanout");
  }

  @Test
  void theTableHasAColumnPerTopologyAndTheirRatios() {
    String t = TopologyComparison.table(three());
    assertThat(t).containsPattern("fanout\\s+batch\\s+streams\\s+batch/f\\s+streams/f")
        .containsPattern("sustained readings/s\\s+1200\\s+1500\\s+2500\\s+1\\.25\\s+2\\.08")
        .containsPattern("CPU s/100k cloud tier\\s+60\\.00\\s+40\\.00\\s+13\\.00\\s+0\\.67\\s+0\\.22")
        .contains("batch: sustained 1.25x (target >= 2.0x: not met)");
  }

  @Test
  void eachTopologyIsWrittenIntoTheTopologySectionAndTheSeedsLeavesTheConfigAlone() {
    String yaml = "brokers:\n  edge: {}\ntopology:\n  prefix: x\n  partitions: 4\n";
    assertThat(E2eBench.Topology.FANOUT.yaml(yaml)).isEqualTo(yaml);
    assertThat(E2eBench.Topology.BATCH.yaml(yaml)).contains("topology:\n  wan: {mode: batch}\n  prefix: x\n").doesNotContain("layout");
    assertThat(E2eBench.Topology.STREAMS.yaml(yaml)).contains("topology:\n  wan: {mode: batch}\n  layout: streams\n  prefix: x\n");
    assertThatThrownBy(() -> E2eBench.Topology.BATCH.yaml("brokers: {}\n")).hasMessageContaining("no topology: section");
  }
}
