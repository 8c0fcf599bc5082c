package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CostOfSecurityTest {

  static Map<String, Object> run(double sustained, double indexerCpu) {
    return Map.of("sustainedReadingsPerSec", Stats.of(List.of(sustained), 0), "ratioToSingleQueue", sustained / 10_000,
        "cpuSecondsPer100k", Map.of("indexer", Stats.of(List.of(indexerCpu), 2)));
  }

  @Test
  @SuppressWarnings("unchecked")
  void ratiosAreSecureOverInsecure() {
    Map<String, Object> c = CostOfSecurity.compare(run(4000, 2.0), run(3000, 3.0));
    assertThat((Map<String, Double>) c.get("sustainedReadingsPerSec")).containsEntry("insecure", 4000.0).containsEntry("secure", 3000.0)
        .containsEntry("ratio", 0.75);
    assertThat(((Map<String, Map<String, Double>>) c.get("cpuSecondsPer100k")).get("indexer")).containsEntry("ratio", 1.5);
    // A figure missing in one mode is not invented.
    assertThat(((Map<String, Map<String, Double>>) c.get("cpuSecondsPer100k")).get("store").get("ratio")).isNaN();
  }

  @Test
  void tableShowsBothModesAndTheRatio() {
    String t = CostOfSecurity.table(run(4000, 2.0), run(3000, 3.0));
    assertThat(t).contains("insecure").contains("secure")
        .containsPattern("sustained readings/s\\s+4000\\s+3000\\s+0\\.75")
        .containsPattern("CPU s/100k indexer\\s+2\\.00\\s+3\\.00\\s+1\\.50");
  }
}
