package io.iotpipe.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The bytes a role may hold unacked fit its share of the heap whatever the size of the readings. */
class PipelineRunnerTest {

  final ConsumerSettings store = new ConsumerSettings(5000, 5000, 5 << 20, Duration.ofMillis(5), Backoff.DEFAULT,
      RetryBudget.DEFAULT, Duration.ofSeconds(10));

  @Test
  void aSmallHeapLowersThePrefetchSoThatLargestReadingsFit() {
    long heap = 256L << 20;
    ConsumerSettings fitted = PipelineRunner.fitToHeap(store, "store", 1, 4, 16_384, heap);
    assertThat((long) fitted.prefetch() * 4 * 16_384).isLessThanOrEqualTo(heap / 4);
    assertThat(fitted.prefetch()).isEqualTo(1024);
  }

  @Test
  void aLargeHeapKeepsTheConfiguredPrefetch() {
    assertThat(PipelineRunner.fitToHeap(store, "store", 2, 4, 16_384, 6L << 30).prefetch()).isEqualTo(5000);
  }

  @Test
  void rolesInOneProcessShareTheHeap() {
    assertThat(PipelineRunner.fitToHeap(store, "store", 2, 4, 16_384, 256L << 20).prefetch()).isEqualTo(512);
  }
}
