package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sink's throughput at a 256 MiB heap (a child JVM), against the real s3proxy and SQLite catalog. Rows and heap
 * come from {@code -Dlake.bench.rows} (default 40,000 in the test suite; 200,000 for the figures) and {@code -Dlake.bench.xmx} (default 256m); the figure is
 * printed, the test checks only that every row was delivered within the heap.
 */
class LakeBenchIT {

  @TempDir
  Path dir;

  @Test
  void rowsPerSecondAtASmallHeap() throws Exception {
    try (LakeFixture lake = new LakeFixture(dir)) {
      // The suite checks the heap bound on 40,000 rows; the figures in the module README come from -Dlake.bench.rows=200000.
      String rows = System.getProperty("lake.bench.rows", "40000");
      LakeCatalog s = lake.settings();
      Path out = dir.resolve("bench.out");
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx" + System.getProperty("lake.bench.xmx", "256m"), "--enable-native-access=ALL-UNNAMED",
          "-cp", System.getProperty("java.class.path"), LakeBench.class.getName(),
          s.catalogUri(), s.warehouse(), s.s3Endpoint(), s.accessKey(), s.secretKey(), rows, "4", "5000", "20000");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      assertThat(p.waitFor(15, TimeUnit.MINUTES)).isTrue();
      String text = Files.readString(out);
      String json = text.lines().filter(l -> l.startsWith("{\"rows\"")).findFirst().orElse("");
      System.out.println("lake bench: " + json);
      assertThat(p.exitValue()).as(text).isZero();
      assertThat(json).contains("\"delivered\":" + rows + ",");
    }
  }
}
