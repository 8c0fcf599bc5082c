package io.iotpipe.tools.bench;

/**
 * Names what most likely stopped a configuration of the scaling curve, from the machine's CPU and I/O-wait shares and
 * the busiest process during the step that failed. A rule of thumb, shown with the figures it used.
 */
final class Limiter {

  /**
   * The machine counts as CPU-bound from this share of all cores busy (not 100 %: on 2 cores, a pipeline of six
   * processes with bursty threads stalls on the run queue well before the last idle tick is gone).
   */
  static final double CPU_BUSY = 0.85;
  /** ... as waiting on the disk (fsync) from this share of time in I/O wait. */
  static final double IO_WAIT = 0.15;
  /** A broker (Erlang VM) using this many cores or more is the bottleneck although the machine has room. */
  static final double BROKER_CORES = 0.9;

  private Limiter() {}

  /**
   * @param busy        share of all cores busy during the step (0..1)
   * @param ioWait      share of time the cores waited for I/O (0..1)
   * @param brokerCores CPU cores (CPU s per s) of the busier broker during the step
   * @param verdict     what the ramp saw
   */
  static String classify(double busy, double ioWait, double brokerCores, Ramp.Verdict verdict) {
    if (verdict == Ramp.Verdict.KEEPS_UP) {
      return "nothing (the ramp ended before the pipeline fell behind)";
    }
    if (busy >= CPU_BUSY) {
      return "CPU (" + pct(busy) + " of all cores busy)";
    }
    if (ioWait >= IO_WAIT) {
      return "fsync / disk (" + pct(ioWait) + " I/O wait)";
    }
    if (brokerCores >= BROKER_CORES) {
      return "broker (" + String.format("%.2f", brokerCores) + " cores in one RabbitMQ node)";
    }
    if (verdict == Ramp.Verdict.SIMULATOR_SHORT || verdict == Ramp.Verdict.CONFIRMS_SLOW) {
      return "edge intake: publishes throttled (broker flow control) or confirms slow, not CPU or disk (" + pct(busy) + " busy, "
          + pct(ioWait) + " I/O wait)";
    }
    return "the sink's round trips, not CPU or disk (" + pct(busy) + " busy, " + pct(ioWait) + " I/O wait)";
  }

  private static String pct(double x) {
    return Math.round(x * 100) + " %";
  }
}
