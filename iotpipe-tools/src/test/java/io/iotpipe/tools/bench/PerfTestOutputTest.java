package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PerfTestOutputTest {

  @Test
  void readsTheSummaryLines() {
    String out = """
        id: test-121314-123, time 19.001 s, sent: 9712 msg/s, confirmed: 9701 msg/s, nacked: 0 msg/s, received: 9698 msg/s
        test stopped (Reached time limit)
        id: test-121314-123, sending rate avg: 9605 msg/s
        id: test-121314-123, receiving rate avg: 9598 msg/s
        """;
    PerfTestOutput p = PerfTestOutput.parse(out);
    assertThat(p.sendingAvg()).isEqualTo(9605);
    assertThat(p.receivingAvg()).isEqualTo(9598);
    assertThat(p.rate()).isEqualTo(9598);
  }

  @Test
  void aRunWithoutSummaryFailsWithItsOutput() {
    assertThatThrownBy(() -> PerfTestOutput.parse("Connection refused"))
        .hasMessageContaining("no summary").hasMessageContaining("Connection refused");
  }
}
