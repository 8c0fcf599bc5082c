package io.iotpipe.tools.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Memory and file descriptors of a process from Linux's {@code /proc} (CPU time is {@link CpuMeter}'s); -1 when unknown. */
final class ProcessMeter {

  private ProcessMeter() {}

  /** Resident set size in bytes ({@code VmRSS} of {@code /proc/<pid>/status}). */
  static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone, or not Linux
    }
    return -1;
  }

  /** Open file descriptors (entries of {@code /proc/<pid>/fd}). */
  static long openFds(long pid) {
    try (Stream<Path> s = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
      return s.count();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The soft limit of open files ({@code ulimit -n}) of the process, from {@code /proc/<pid>/limits}. */
  static long fdLimit(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "limits"))) {
        if (line.startsWith("Max open files")) {
          String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
          return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone, or not Linux
    }
    return -1;
  }

  /** Heap in use after a full GC, bytes: what live objects hold, without garbage. */
  static long liveHeapBytes() {
    System.gc();
    return java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
