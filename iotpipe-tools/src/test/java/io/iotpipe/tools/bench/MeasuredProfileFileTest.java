package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.cli.Output;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeasuredProfileFileTest {

  @Test
  void eachCommandAddsItsKeysAndKeepsTheOthers(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("sub/profile.json");
    MeasuredProfileFile.save(f, "bench index", Map.of("indexerMsgsPerSecPerInstance", 25000));
    MeasuredProfileFile.save(f, "bench store", Map.of("storeMsgsPerSecPerInstance", 31000, "parquetBytesPerRow", 12.5));
    var root = Output.json().readTree(f.toFile());
    assertThat(root.path("indexerMsgsPerSecPerInstance").asLong()).isEqualTo(25000);
    assertThat(root.path("storeMsgsPerSecPerInstance").asLong()).isEqualTo(31000);
    assertThat(root.path("parquetBytesPerRow").asDouble()).isEqualTo(12.5);
    assertThat(root.path("measuredBy").path("indexerMsgsPerSecPerInstance").asText()).startsWith("bench index");
    assertThat(root.path("machine").path("nproc").asInt()).isPositive();
  }

  @Test
  void statsReportMedianAndRangeAndSkipMissingRounds() {
    Map<String, Object> s = Stats.of(List.of(3.0, 1.0, Double.NaN, 2.0), 0);
    assertThat(s).containsEntry("median", 2.0).containsEntry("min", 1.0).containsEntry("max", 3.0);
    assertThat(Stats.median(List.of(1.0, 2.0, 3.0, 10.0))).isEqualTo(2.5);
  }
}
