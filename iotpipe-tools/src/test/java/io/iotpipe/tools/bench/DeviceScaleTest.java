package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.tools.bench.DeviceScale.Resources;
import io.iotpipe.tools.bench.DeviceScale.Step;
import io.iotpipe.tools.bench.DeviceScale.Verdict;
import org.junit.jupiter.api.Test;

class DeviceScaleTest {

  /** 10,000 devices, one reading per 10 s, held 60 s: 60,000 readings expected. */
  private static Step step(int connectFailed, long disconnects, long acked, long failed, double p99, boolean alarm) {
    return new Step(10_000, connectFailed, disconnects, acked + failed, acked, failed, 60_000, p99, alarm);
  }

  @Test
  void aFleetThatConnectsPublishesAndIsAcknowledgedInTimeHolds() {
    assertThat(DeviceScale.judge(step(0, 0, 59_800, 0, 12, false), Double.NaN)).isEqualTo(Verdict.HOLDS);
    // p99 from 4 ms to 60 ms is 15x, but under the 250 ms floor: still holds.
    assertThat(DeviceScale.judge(step(0, 0, 59_800, 0, 60, false), 4)).isEqualTo(Verdict.HOLDS);
  }

  @Test
  void eachWayOfNotHoldingIsNamed() {
    assertThat(DeviceScale.judge(step(1, 0, 59_800, 0, 12, false), Double.NaN)).isEqualTo(Verdict.SETUP_FAILED);
    assertThat(DeviceScale.judge(step(0, 3, 59_800, 0, 12, false), Double.NaN)).isEqualTo(Verdict.DROPPED);
    assertThat(DeviceScale.judge(step(0, 0, 59_800, 100, 12, false), Double.NaN)).isEqualTo(Verdict.PUBLISHES_FAILED);
    assertThat(DeviceScale.judge(step(0, 0, 50_000, 0, 12, false), Double.NaN)).isEqualTo(Verdict.RATE_SHORT);
    assertThat(DeviceScale.judge(step(0, 0, 59_800, 0, 400, false), 40)).isEqualTo(Verdict.PUBACK_DEGRADED);
    assertThat(DeviceScale.judge(step(0, 0, 59_800, 0, 12, true), Double.NaN)).isEqualTo(Verdict.MEMORY_ALARM);
  }

  @Test
  void aFewFailedPublishesAmongManyAreTolerated() {
    assertThat(DeviceScale.judge(step(0, 0, 59_990, 10, 12, false), Double.NaN)).isEqualTo(Verdict.HOLDS);
  }

  @Test
  void theNextStepStopsAtTheMaximumAndAtTheSimulatorsFreeFileDescriptors() {
    assertThat(DeviceScale.next(10_000, 2500, 40_000, 10_200, 100_000)).isEqualTo(12_500);
    assertThat(DeviceScale.next(39_000, 2500, 40_000, 39_200, 100_000)).isEqualTo(40_000);
    assertThat(DeviceScale.next(40_000, 2500, 40_000, 40_200, 100_000)).isEqualTo(-1);
    // 20,000 fds, 17,700 in use, 300 kept free: 2,000 more devices fit.
    assertThat(DeviceScale.next(17_500, 2500, 40_000, 17_700, 20_000)).isEqualTo(19_500);
    // fewer than a tenth of a step free: no next step
    assertThat(DeviceScale.next(19_500, 2500, 40_000, 19_600, 20_000)).isEqualTo(-1);
  }

  @Test
  void theLimitNamedIsTheResourceNearItsEnd() {
    Resources brokerFds = new Resources(19_100, 20_000, 17_900, 17_906, 120_000, 1_048_576, 2L << 30, 9L << 30, 15_000, 20_000,
        500L << 20, 6L << 30, 0.6);
    assertThat(DeviceScale.limit(brokerFds)).startsWith("the broker's file descriptors");
    Resources cpu = new Resources(11_000, 100_000, 10_000, 90_000, 120_000, 1_048_576, 2L << 30, 9L << 30, 10_300, 100_000,
        500L << 20, 6L << 30, 0.97);
    assertThat(DeviceScale.limit(cpu)).startsWith("CPU");
    Resources memory = new Resources(11_000, 100_000, 10_000, 90_000, 120_000, 1_048_576, 9L << 30, 9L << 30, 10_300, 100_000,
        500L << 20, 6L << 30, 0.5);
    assertThat(DeviceScale.limit(memory)).startsWith("broker memory");
    Resources none = new Resources(11_000, 100_000, 10_000, 90_000, 120_000, 1_048_576, 2L << 30, 9L << 30, 10_300, 100_000,
        500L << 20, 6L << 30, 0.5);
    assertThat(DeviceScale.limit(none)).isNull();
    Resources unknown = new Resources(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0.2);
    assertThat(DeviceScale.limit(unknown)).isNull();
  }
}
