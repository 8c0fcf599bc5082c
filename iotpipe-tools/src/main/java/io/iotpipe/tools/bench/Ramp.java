package io.iotpipe.tools.bench;

import java.util.List;

/**
 * The "does the pipeline keep up?" decision of the rate ramp, kept free of I/O so it is unit-tested.
 *
 * <p>A step passes when the simulator reached its target rate, confirms did not slow down sharply, and neither sink
 * fell behind. "Fell behind" compares the floor of the sink's lag (confirmed readings not yet delivered by the sink)
 * in the second half of the step with the floor in the first half: floors, because the storage writer acks a whole
 * file at once, so its lag is a saw-tooth whose peaks say nothing about keeping up.
 */
final class Ramp {

  /** Below this share of the target rate, the simulator (edge back-pressure or its own limit) could not keep up. */
  static final double REACHED = 0.9;
  /** The floor of a sink's lag may rise by this share of the half-step's readings (a 10 % deficit) before it counts. */
  static final double LAG_GROWTH = 0.10;
  /** ... and never counts below this many readings (noise of counters scraped at slightly different times). */
  static final long LAG_NOISE = 1000;
  /** Confirms "slow down sharply" past this multiple of the first step's latency ... */
  static final double CONFIRM_FACTOR = 4;
  /** ... and past this absolute floor (ms), so a 2 ms -> 9 ms change on an idle machine does not stop the ramp. */
  static final double CONFIRM_FLOOR_MS = 100;

  enum Verdict {
    KEEPS_UP("keeps up"),
    SIMULATOR_SHORT("the simulator could not reach the target rate (edge back-pressure or publisher limit)"),
    INDEX_LAG_GROWS("the indexer fell behind (its queue grew through the step)"),
    STORE_LAG_GROWS("the storage writer fell behind (its queue grew through the step)"),
    CONFIRMS_SLOW("publisher confirms slowed down sharply (the edge broker is saturated)");

    final String text;

    Verdict(String text) {
      this.text = text;
    }
  }

  /**
   * One step as measured.
   *
   * @param target     readings/s asked of the simulator
   * @param achieved   readings/s it got confirmed
   * @param seconds    step length
   * @param indexLag   per-second samples of confirmed minus indexed
   * @param storeLag   per-second samples of confirmed minus stored
   * @param confirmMs  mean publish-to-confirm latency in the step (Little's law: mean in flight / rate)
   */
  record Step(double target, double achieved, double seconds, List<Long> indexLag, List<Long> storeLag, double confirmMs) {}

  private Ramp() {}

  /** The target of step {@code i} (0-based). */
  static double rate(double start, double factor, int i) {
    return start * Math.pow(factor, i);
  }

  /** @param firstConfirmMs the first step's confirm latency (the unloaded reference), NaN for the first step itself */
  static Verdict judge(Step s, double firstConfirmMs) {
    if (s.achieved() < REACHED * s.target()) {
      return Verdict.SIMULATOR_SHORT;
    }
    if (grows(s.indexLag(), s)) {
      return Verdict.INDEX_LAG_GROWS;
    }
    if (grows(s.storeLag(), s)) {
      return Verdict.STORE_LAG_GROWS;
    }
    if (!Double.isNaN(firstConfirmMs) && s.confirmMs() > Math.max(CONFIRM_FLOOR_MS, CONFIRM_FACTOR * firstConfirmMs)) {
      return Verdict.CONFIRMS_SLOW;
    }
    return Verdict.KEEPS_UP;
  }

  /** How much the floor of the lag rose from the first to the second half of the samples. */
  static long floorGrowth(List<Long> lag) {
    if (lag.size() < 2) {
      return 0;
    }
    int half = lag.size() / 2;
    long first = lag.subList(0, half).stream().mapToLong(Long::longValue).min().orElse(0);
    long second = lag.subList(half, lag.size()).stream().mapToLong(Long::longValue).min().orElse(0);
    return second - first;
  }

  private static boolean grows(List<Long> lag, Step s) {
    double allowed = Math.max(LAG_NOISE, LAG_GROWTH * s.achieved() * s.seconds() / 2);
    return floorGrowth(lag) > allowed;
  }

  /** The highest achieved rate of the steps that kept up before the first one that did not (0 when none did). */
  static double sustained(List<Step> steps, List<Verdict> verdicts) {
    double best = 0;
    for (int i = 0; i < steps.size(); i++) {
      if (verdicts.get(i) != Verdict.KEEPS_UP) {
        break;
      }
      best = Math.max(best, steps.get(i).achieved());
    }
    return best;
  }
}
