package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CpuMeterTest {

  @Test
  void agreesWithTheJvmsOwnCpuClock() {
    burn(Duration.ofMillis(300));
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    double before = os.getProcessCpuTime() / 1e9;
    double measured = CpuMeter.processSeconds(ProcessHandle.current().pid());
    double after = os.getProcessCpuTime() / 1e9;
    // /proc counts in clock ticks (10 ms at 100 Hz), the JVM's clock in nanoseconds: allow a few ticks
    assertThat(measured).isBetween(before - 0.05, after + 0.05);
  }

  @Test
  void measuresAnotherProcessAndSaysNaNWhenItIsGone() throws Exception {
    Process busy = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> CpuMeter.processSeconds(busy.pid()) >= 0.2);
    } finally {
      busy.destroyForcibly().waitFor();
    }
    assertThat(CpuMeter.processSeconds(busy.pid())).isNaN();
  }

  private static void burn(Duration d) {
    long end = System.nanoTime() + d.toNanos();
    long x = 0;
    while (System.nanoTime() < end) {
      x += Long.numberOfTrailingZeros(x + System.nanoTime());
    }
    assertThat(x).isNotNegative();
  }
}
