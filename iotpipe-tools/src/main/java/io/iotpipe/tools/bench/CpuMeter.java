package io.iotpipe.tools.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time of processes and thread groups, for "CPU seconds per 100k messages" figures. */
public final class CpuMeter {

  private CpuMeter() {}

  /**
   * User + system CPU seconds consumed so far by process {@code pid}, or NaN when unavailable (gone, or the platform
   * does not tell). The JDK reads {@code /proc} on Linux and scales by the real clock tick rate, not an assumed one.
   */
  public static double processSeconds(long pid) {
    return ProcessHandle.of(pid)
        .flatMap(p -> p.info().totalCpuDuration())
        .map(d -> d.toNanos() / 1e9)
        .orElse(Double.NaN);
  }

  /** The machine's CPU time so far, from the first line of /proc/stat, in clock ticks (all cores). */
  record MachineTicks(long busy, long ioWait, long total) {
    /** Shares of {@code total} between {@code earlier} and this reading: busy, I/O wait. */
    double[] sharesSince(MachineTicks earlier) {
      double t = Math.max(1, total - earlier.total);
      return new double[] {(busy - earlier.busy) / t, (ioWait - earlier.ioWait) / t};
    }
  }

  static MachineTicks machineTicks() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal ...
      long total = 0;
      for (int i = 1; i < Math.min(f.length, 9); i++) {
        total += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]);
      long ioWait = Long.parseLong(f[5]);
      return new MachineTicks(total - idle - ioWait, ioWait, total);
    } catch (IOException | RuntimeException e) {
      return new MachineTicks(0, 0, 0);
    }
  }

  /** CPU seconds of this JVM. */
  public static double ownSeconds() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getProcessCpuTime() / 1e9;
    }
    return processSeconds(ProcessHandle.current().pid());
  }

  /**
   * CPU seconds of the live threads of this JVM whose name starts with {@code prefix} — separates an in-process
   * search engine's work from the indexer's.
   */
  static double threadSeconds(String prefix) {
    ThreadMXBean t = ManagementFactory.getThreadMXBean();
    long total = 0;
    for (ThreadInfo info : t.getThreadInfo(t.getAllThreadIds())) {
      if (info != null && info.getThreadName().startsWith(prefix)) {
        long cpu = t.getThreadCpuTime(info.getThreadId());
        if (cpu > 0) {
          total += cpu;
        }
      }
    }
    return total / 1e9;
  }

  /** Highest heap use seen since the last {@link #resetPeakHeap()}, in bytes. */
  static long peakHeapBytes() {
    long sum = 0;
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == java.lang.management.MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  static void resetPeakHeap() {
    System.gc();
    ManagementFactory.getMemoryPoolMXBeans().forEach(java.lang.management.MemoryPoolMXBean::resetPeakUsage);
  }
}
