package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.tools.bench.Ramp.Step;
import io.iotpipe.tools.bench.Ramp.Verdict;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RampTest {

  /** Lag samples of a sink that delivers {@code deliveredShare} of 5000/s for 20 s, with a saw-tooth of commits. */
  private static List<Long> lag(double deliveredShare, int sawTooth) {
    List<Long> out = new ArrayList<>();
    double backlog = 2000;
    for (int s = 0; s < 20; s++) {
      backlog += 5000 * (1 - deliveredShare);
      out.add((long) backlog + (s % 4) * sawTooth);
    }
    return out;
  }

  private static Step step(double achieved, List<Long> index, List<Long> store, double confirmMs) {
    return new Step(5000, achieved, 20, index, store, confirmMs);
  }

  @Test
  void aSinkThatDeliversEverythingKeepsUpEvenWithALargeSawTooth() {
    // The storage writer acks a whole file at once: lag swings by several seconds of traffic and still keeps up.
    assertThat(Ramp.judge(step(4990, lag(1.0, 0), lag(1.0, 15_000), 8), 6)).isEqualTo(Verdict.KEEPS_UP);
  }

  @Test
  void aSinkDeliveringEightyPercentFallsBehind() {
    assertThat(Ramp.judge(step(5000, lag(0.8, 0), lag(1.0, 0), 8), 6)).isEqualTo(Verdict.INDEX_LAG_GROWS);
    assertThat(Ramp.judge(step(5000, lag(1.0, 0), lag(0.8, 5000), 8), 6)).isEqualTo(Verdict.STORE_LAG_GROWS);
  }

  @Test
  void aFewPercentShortIsNoise() {
    assertThat(Ramp.judge(step(5000, lag(0.97, 0), lag(0.98, 0), 8), 6)).isEqualTo(Verdict.KEEPS_UP);
  }

  @Test
  void theSimulatorMissingItsTargetEndsTheRamp() {
    assertThat(Ramp.judge(step(4000, lag(1.0, 0), lag(1.0, 0), 8), 6)).isEqualTo(Verdict.SIMULATOR_SHORT);
  }

  @Test
  void confirmsSlowingSharplyEndTheRampButNotSmallChanges() {
    assertThat(Ramp.judge(step(5000, lag(1.0, 0), lag(1.0, 0), 400), 20)).isEqualTo(Verdict.CONFIRMS_SLOW);
    assertThat(Ramp.judge(step(5000, lag(1.0, 0), lag(1.0, 0), 40), 5)).isEqualTo(Verdict.KEEPS_UP); // under the floor
    assertThat(Ramp.judge(step(5000, lag(1.0, 0), lag(1.0, 0), 400), Double.NaN)).isEqualTo(Verdict.KEEPS_UP); // first step
  }

  @Test
  void sustainedIsTheBestStepBeforeTheFirstFailure() {
    List<Step> steps = List.of(step(1000, List.of(), List.of(), 5), step(1500, List.of(), List.of(), 5),
        step(1200, List.of(), List.of(), 5), step(3000, List.of(), List.of(), 5));
    assertThat(Ramp.sustained(steps, List.of(Verdict.KEEPS_UP, Verdict.KEEPS_UP, Verdict.INDEX_LAG_GROWS, Verdict.KEEPS_UP)))
        .isEqualTo(1500);
    assertThat(Ramp.sustained(steps.subList(0, 1), List.of(Verdict.SIMULATOR_SHORT))).isZero();
  }

  @Test
  void ratesGrowGeometrically() {
    assertThat(Ramp.rate(1000, 1.5, 0)).isEqualTo(1000);
    assertThat(Ramp.rate(1000, 1.5, 2)).isEqualTo(2250);
  }
}
