package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SideBySideTest {

  @Test
  void ratiosAreTakenPerRoundAndTheirMedianReported() {
    // Round 2 ran on a busier machine: every phase slower, its ratios about the same as the others'.
    Map<String, Object> r = SideBySide.ratios(List.of(
        new SideBySide.Round(45_000, 30_000, 25_000),
        new SideBySide.Round(22_000, 15_000, 11_000),
        new SideBySide.Round(40_000, 32_000, 20_000)));
    assertThat(r.get("lakeToCamelPerRound")).isEqualTo(List.of(1.8, 2.0, 2.0));
    assertThat(r.get("lakeToCamel")).isEqualTo(2.0);
    assertThat(r.get("lakeToFileStorePerRound")).isEqualTo(List.of(1.5, 1.47, 1.25));
    assertThat(r.get("lakeToFileStore")).isEqualTo(1.47);
    assertThat(r.get("fileStoreToCamelPerRound")).isEqualTo(List.of(1.2, 1.36, 1.6));
    assertThat(r.get("fileStoreToCamel")).isEqualTo(1.36);
  }

  @Test
  void aPhaseThatDidNotRunLeavesItsRatiosOut() {
    Map<String, Object> r = SideBySide.ratios(List.of(new SideBySide.Round(Double.NaN, 30_000, 20_000)));
    assertThat(r).containsOnlyKeys("fileStoreToCamel", "fileStoreToCamelPerRound");
    assertThat(r.get("fileStoreToCamel")).isEqualTo(1.5);
  }

  @Test
  void theSummaryLineNamesTheTargets() {
    Map<String, Object> r = SideBySide.ratios(List.of(new SideBySide.Round(36_000, 28_000, 24_000)));
    assertThat(SideBySide.summary("-Xmx256m", 36_000, 28_000, 24_000, r)).isEqualTo(
        "side by side at -Xmx256m: lake 36000 · file store 28000 · Camel 24000 msg/s (medians);"
            + " lake/Camel 1.5 (target ≥ 1.5); lake/file store 1.29 (target ≥ 1); file store/Camel 1.17");
  }

  @Test
  void theCamelRouteRunsOnItsOwnClassPathWithTheHeapCapAndNoPasswordOnTheCommandLine() {
    List<String> cmd = CamelBaseline.command("/jdk/bin/java", "256m", Path.of("/p/iotpipe-bench-camel/target"),
        URI.create("amqp://127.0.0.1:5673/"), "guest", "q1", Path.of("/d/q1"), List.of("soc", "tempC"));
    assertThat(cmd).containsSubsequence("/jdk/bin/java", "-Xmx256m", "-cp",
        "/p/iotpipe-bench-camel/target/iotpipe-bench-camel.jar:/p/iotpipe-bench-camel/target/lib/*", CamelBaseline.MAIN_CLASS,
        "127.0.0.1", "5673", "guest", "q1", "/d/q1", "10000", "20000", "ZSTD", "soc", "tempC");
    assertThat(String.join(" ", cmd)).doesNotContain("password");
    assertThat(Arrays.asList(cmd.toArray())).doesNotContain("-Xmx");
  }
}
