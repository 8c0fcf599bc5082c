package io.iotpipe.tools.bench;

/**
 * The decisions of {@code bench devices --find-max}, kept free of I/O so they are unit-tested: does a fleet size hold,
 * what is the next size, and which resource most likely stopped the fleet from growing.
 */
final class DeviceScale {

  /** PUBACK p99 "degrades" past this multiple of the best p99 of the steps before ... */
  static final double P99_FACTOR = 5;
  /** ... and past this absolute floor, so 3 ms -> 16 ms on an idle machine is not called degraded. */
  static final double P99_FLOOR_MS = 250;
  /** Publishes without a PUBACK (timeout, connection lost) tolerated per step, as a share of those published. */
  static final double FAILED_SHARE = 0.001;
  /** Below this share of the expected readings (devices x hold / interval) the fleet could not keep its rate. */
  static final double RATE_SHARE = 0.9;
  /** A resource at or above this share of its limit is named as what stopped the fleet. */
  static final double NEAR_LIMIT = 0.95;
  /** File descriptors the simulator JVM keeps free for itself (jars, /proc reads, the management API client). */
  static final long FD_MARGIN = 300;

  enum Verdict {
    HOLDS("holds"),
    SETUP_FAILED("not every device of the step could connect (TLS handshake, login or the broker refused)"),
    DROPPED("connections that were up closed during the step"),
    PUBLISHES_FAILED("publishes got no PUBACK (timeout or connection lost)"),
    RATE_SHORT("the fleet published or got acknowledged less than 90 % of the readings it should have"),
    PUBACK_DEGRADED("PUBACK p99 degraded (above both 250 ms and 5x the best p99 of the steps before)"),
    MEMORY_ALARM("the broker raised its memory alarm (publishers blocked)"),
    MAX_REACHED("reached --max-devices"),
    SIMULATOR_FDS("the simulator JVM has no file descriptors left for another step");

    final String text;

    Verdict(String text) {
      this.text = text;
    }
  }

  /**
   * One step as measured, over its hold.
   *
   * @param expected readings the fleet should have published in the hold (devices x hold / interval)
   */
  record Step(int devices, int connectFailed, long disconnects, long published, long acked, long failed, double expected,
              double p99Ms, boolean memoryAlarm) {}

  private DeviceScale() {}

  /** @param firstP99Ms the best PUBACK p99 of the steps before (the reference), NaN for the first step itself */
  static Verdict judge(Step s, double firstP99Ms) {
    if (s.memoryAlarm()) {
      return Verdict.MEMORY_ALARM;
    }
    if (s.connectFailed() > 0) {
      return Verdict.SETUP_FAILED;
    }
    if (s.disconnects() > 0) {
      return Verdict.DROPPED;
    }
    if (s.failed() > FAILED_SHARE * Math.max(1, s.published())) {
      return Verdict.PUBLISHES_FAILED;
    }
    if (s.acked() < RATE_SHARE * s.expected()) {
      return Verdict.RATE_SHORT;
    }
    if (!Double.isNaN(firstP99Ms) && s.p99Ms() > Math.max(P99_FLOOR_MS, P99_FACTOR * firstP99Ms)) {
      return Verdict.PUBACK_DEGRADED;
    }
    return Verdict.HOLDS;
  }

  /**
   * The next fleet size after {@code current}: {@code step} more, at most {@code max}, and no more than the simulator
   * JVM's free file descriptors allow (one socket per device, {@link #FD_MARGIN} kept free). -1 when there is no
   * next step ({@code current} is already {@code max}, or fewer than a tenth of a step's descriptors are free).
   */
  static int next(int current, int step, int max, long fdUsed, long fdLimit) {
    if (current >= max) {
      return -1;
    }
    long free = fdLimit - fdUsed - FD_MARGIN;
    int add = (int) Math.min(Math.min(step, max - current), Math.max(0, free));
    return add < Math.max(1, step / 10) ? -1 : current + add;
  }

  /** Resources of the broker and the simulator at the end of a step, with their limits (-1: unknown). */
  record Resources(long brokerFdUsed, long brokerFdLimit, long brokerSocketsUsed, long brokerSocketsLimit, long brokerProcUsed,
                   long brokerProcLimit, long brokerMemUsed, long brokerMemLimit, long simulatorFdUsed, long simulatorFdLimit,
                   long simulatorHeapUsed, long simulatorHeapMax, double machineBusyShare) {}

  /** The resource that most likely stopped the fleet growing, from the failing step's resources; null if none is near its limit. */
  static String limit(Resources r) {
    if (near(r.brokerSocketsUsed(), r.brokerSocketsLimit()) || near(r.brokerFdUsed(), r.brokerFdLimit())) {
      return String.format("the broker's file descriptors (%d of %d, sockets %d of %d): raise the node's ulimit -n", r.brokerFdUsed(),
          r.brokerFdLimit(), r.brokerSocketsUsed(), r.brokerSocketsLimit());
    }
    if (near(r.simulatorFdUsed(), r.simulatorFdLimit())) {
      return String.format("the simulator JVM's file descriptors (%d of %d)", r.simulatorFdUsed(), r.simulatorFdLimit());
    }
    if (near(r.brokerProcUsed(), r.brokerProcLimit())) {
      return String.format("Erlang processes (%d of %d): raise RABBITMQ_MAX_NUMBER_OF_PROCESSES", r.brokerProcUsed(), r.brokerProcLimit());
    }
    if (near(r.brokerMemUsed(), r.brokerMemLimit())) {
      return String.format("broker memory (%d of %d MiB, the memory alarm's watermark)", r.brokerMemUsed() >> 20, r.brokerMemLimit() >> 20);
    }
    if (near(r.simulatorHeapUsed(), r.simulatorHeapMax())) {
      return String.format("the simulator's heap (%d of %d MiB)", r.simulatorHeapUsed() >> 20, r.simulatorHeapMax() >> 20);
    }
    if (r.machineBusyShare() >= 0.85) {
      return String.format("CPU (the machine was %.0f %% busy)", r.machineBusyShare() * 100);
    }
    return null;
  }

  private static boolean near(long used, long limit) {
    return limit > 0 && used >= NEAR_LIMIT * limit;
  }
}
