package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.elasticsearch.ElasticsearchSinkTest.MovableClock;
import org.junit.jupiter.api.Test;

/** How the indexer learns the body size a 413-answering engine or proxy takes, and how it lets the limit grow back. */
class BulkSizerTest {

  final MovableClock clock = new MovableClock();
  final BulkSizer sizer = new BulkSizer(clock);

  @Test
  void noLimitUntilABulkIsRefused() {
    sizer.passed(50_000_000);
    assertThat(sizer.limit()).isEqualTo(BulkSizer.UNLIMITED);
  }

  @Test
  void aRefusalHalvesUntilPartsPassAndTheSizeThatPassedIsKeptForLaterBulks() {
    sizer.refused(1_000_000);
    assertThat(sizer.limit()).as("the halves' size").isEqualTo(500_000);
    sizer.refused(500_000);
    assertThat(sizer.limit()).isEqualTo(250_000);
    sizer.passed(250_000);
    sizer.passed(249_000);
    assertThat(sizer.limit()).as("remembered, not reset by a success").isEqualTo(250_000);
  }

  @Test
  void theLimitGrowsBackByAQuarterAfterManyBulksNearItButNotToARecentlyRefusedSize() {
    sizer.refused(1_000_000);
    sizer.refused(500_000);
    assertThat(sizer.limit()).isEqualTo(250_000);
    passNearLimit(BulkSizer.GROW_AFTER - 1);
    assertThat(sizer.limit()).isEqualTo(250_000);
    passNearLimit(1);
    assertThat(sizer.limit()).isEqualTo(312_500);
    passNearLimit(BulkSizer.GROW_AFTER);
    assertThat(sizer.limit()).isEqualTo(390_625);
    passNearLimit(BulkSizer.GROW_AFTER);
    assertThat(sizer.limit()).isEqualTo(488_281);
    passNearLimit(BulkSizer.GROW_AFTER);
    assertThat(sizer.limit()).as("just below the size refused minutes ago").isEqualTo(499_999);
    passNearLimit(BulkSizer.GROW_AFTER * 5);
    assertThat(sizer.limit()).isEqualTo(499_999);
  }

  @Test
  void smallBulksSayNothingAboutTheLimit() {
    sizer.refused(1_000_000);
    for (int i = 0; i < BulkSizer.GROW_AFTER * 10; i++) {
      sizer.passed(10_000);
    }
    assertThat(sizer.limit()).isEqualTo(500_000);
  }

  @Test
  void anOldRefusalIsForgottenSoARaisedLimitIsFoundAndAFailedProbeKeepsTheSizeThatWorked() {
    sizer.refused(1_000_000);
    passNearLimit(BulkSizer.GROW_AFTER * 10);
    assertThat(sizer.limit()).isEqualTo(999_999);
    clock.now.updateAndGet(t -> t.plus(BulkSizer.REMEMBER_REFUSAL));
    passNearLimit(BulkSizer.GROW_AFTER);
    assertThat(sizer.limit()).as("probing above the old refusal").isGreaterThan(1_000_000);
    long probe = sizer.limit();
    sizer.refused(probe);
    assertThat(sizer.limit()).as("back to what passed, not to half the probe").isEqualTo(999_999);
  }

  @Test
  void aLimitTheOperatorLoweredIsFoundByHalving() {
    sizer.refused(1_000_000);
    passNearLimit(BulkSizer.GROW_AFTER);
    assertThat(sizer.limit()).isEqualTo(625_000);
    sizer.refused(625_000);
    assertThat(sizer.limit()).as("back to the size that passed").isEqualTo(500_000);
    sizer.refused(500_000);
    assertThat(sizer.limit()).as("refused again with nothing passed since: halve").isEqualTo(250_000);
  }

  private void passNearLimit(int n) {
    for (int i = 0; i < n; i++) {
      sizer.passed(sizer.limit());
    }
  }
}
