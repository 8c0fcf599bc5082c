package io.iotpipe.tools.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LimiterTest {

  @Test
  void namesTheResourceThatRanOut() {
    assertThat(Limiter.classify(0.97, 0.01, 0.6, Ramp.Verdict.INDEX_LAG_GROWS)).startsWith("CPU");
    assertThat(Limiter.classify(0.60, 0.30, 0.4, Ramp.Verdict.STORE_LAG_GROWS)).startsWith("fsync");
    assertThat(Limiter.classify(0.70, 0.02, 1.0, Ramp.Verdict.CONFIRMS_SLOW)).startsWith("broker");
    assertThat(Limiter.classify(0.50, 0.02, 0.3, Ramp.Verdict.STORE_LAG_GROWS)).startsWith("the sink's round trips");
    assertThat(Limiter.classify(0.80, 0.02, 0.5, Ramp.Verdict.SIMULATOR_SHORT)).startsWith("edge intake");
    assertThat(Limiter.classify(0.99, 0.5, 2, Ramp.Verdict.KEEPS_UP)).startsWith("nothing");
  }
}
