package io.iotpipe.testkit.chaos;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A scenario's wait that times out says what it waited for: a failover time-out must not blame the topology. */
class ChaosWaitTest {

  @Test
  void aTimedOutWaitNamesWhatItWaitedFor() {
    assertThatThrownBy(() -> ChaosScenarios.waitFor(Duration.ofMillis(300), "failover: a reading acked by region cloud-b", () -> false))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("failover: a reading acked by region cloud-b")
        .hasMessageNotContaining("topology");
    assertThatThrownBy(() -> ChaosScenarios.waitFor(Duration.ofMillis(300), ChaosScenarios.loadStarted(800), () -> false))
        .hasMessageContaining("first 800 confirmed readings").hasMessageContaining("is the topology applied?");
  }

  @Test
  void returnsOnceTheConditionHolds() {
    AtomicInteger polls = new AtomicInteger();
    assertThatCode(() -> ChaosScenarios.waitFor(Duration.ofSeconds(30), "three polls", () -> polls.incrementAndGet() >= 3))
        .doesNotThrowAnyException();
  }
}
