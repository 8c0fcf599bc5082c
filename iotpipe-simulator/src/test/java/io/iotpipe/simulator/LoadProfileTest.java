package io.iotpipe.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.iotpipe.core.config.SimulatorConfig.LoadShape;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** What each load profile promises about the rate over a run, as a factor of the configured peak rate. */
class LoadProfileTest {

  private static final LoadProfile DIURNAL = new LoadProfile(LoadShape.DIURNAL);
  private static final LoadProfile BURST = new LoadProfile(LoadShape.BURST);
  private static final LoadProfile FLAT = new LoadProfile(LoadShape.FLAT);
  private static final int STEPS = 24 * 60; // one step per compressed minute of the day

  @Property(tries = 27)
  void everyRegionPeaksInItsOwnLocalEvening(@ForAll @IntRange(min = -12, max = 14) int utcOffset) {
    // The peak is a plateau at the configured rate: every moment at full rate is in the local evening rush (people
    // plugging in after work), not the UTC evening, and it is centred on 18:30 local.
    double first = Double.NaN;
    double last = Double.NaN;
    for (int i = 0; i < STEPS; i++) {
      double progress = (double) i / STEPS;
      if (DIURNAL.factor(progress, utcOffset) == 1.0) {
        double localHour = ((progress * 24 + utcOffset) % 24 + 24) % 24;
        assertThat(localHour).as("full rate at local %.2f h", localHour).isBetween(17.0, 20.0);
        first = Double.isNaN(first) ? localHour : Math.min(first, localHour);
        last = Double.isNaN(last) ? localHour : Math.max(last, localHour);
      }
    }
    assertThat(first).as("the peak reaches the configured rate").isNotNaN();
    assertThat((first + last) / 2).isCloseTo(18.5, within(0.1));
  }

  @Property(tries = 200)
  void theRateNeverExceedsThePeakNorStops(@ForAll @DoubleRange(min = 0, max = 1) double progress,
                                          @ForAll @IntRange(min = -12, max = 14) int utcOffset) {
    for (LoadProfile p : new LoadProfile[] {DIURNAL, BURST, FLAT}) {
      assertThat(p.factor(progress, utcOffset)).isGreaterThan(0).isLessThanOrEqualTo(1.0);
    }
  }

  @Test
  void nightsAreQuietAndTheCompressedDayStartsAtMidnightUtc() {
    for (double h = 0; h < 4.5; h += 0.25) {
      assertThat(LoadProfile.diurnal(h)).as("local %.2f h", h).isLessThan(0.1);
    }
    assertThat(LoadProfile.diurnal(8)).as("morning bump").isGreaterThan(0.8);
    assertThat(LoadProfile.diurnal(13)).as("midday, between the bumps").isLessThan(0.4);
    // "at 30% of a run it is about 07:12 UTC", and each region sees its own local time
    assertThat(DIURNAL.factor(0.3, 0)).isCloseTo(LoadProfile.diurnal(7.2), within(1e-12));
    assertThat(DIURNAL.factor(0.3, 8)).isCloseTo(LoadProfile.diurnal(15.2), within(1e-12));
    assertThat(DIURNAL.factor(0.3, -5)).isCloseTo(LoadProfile.diurnal(2.2), within(1e-12));
  }

  @Test
  void whileOneRegionHasItsRushHourAnotherSleeps() {
    double euPeak = (18.5 - 1) / 24; // 18:30 in eu-west (UTC+1) is 01:30 in ap-southeast (UTC+8)
    assertThat(DIURNAL.factor(euPeak, 1)).isEqualTo(1.0);
    assertThat(DIURNAL.factor(euPeak, 8)).isLessThan(0.1);
  }

  @Test
  void burstRunsFiveBurstsAtFullRateForAFifthOfTheRunAndAQuarterOtherwise() {
    int full = 0;
    int quarter = 0;
    int bursts = 0;
    boolean inBurst = false;
    int steps = 100_000;
    for (int i = 0; i < steps; i++) {
      double f = BURST.factor((i + 0.5) / steps, 0);
      if (f == 1.0) {
        full++;
        bursts += inBurst ? 0 : 1;
        inBurst = true;
      } else {
        assertThat(f).isEqualTo(0.25);
        quarter++;
        inBurst = false;
      }
    }
    assertThat(bursts).isEqualTo(5);
    assertThat((double) full / steps).isCloseTo(0.2, within(0.001));
    assertThat((double) quarter / steps).isCloseTo(0.8, within(0.001));
    // the same for every region: a fleet reconnecting after an outage does not wait for its local time
    assertThat(BURST.factor(0.01, 8)).isEqualTo(BURST.factor(0.01, -5)).isEqualTo(1.0);
  }

  @Test
  void flatIsThePeakRateThroughout() {
    assertThat(FLAT.factor(0, 0)).isEqualTo(1.0);
    assertThat(FLAT.factor(0.77, 8)).isEqualTo(1.0);
  }
}
