package io.iotpipe.tools;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The alert assertions of {@link ChaosIT}: a row that should page fails when nothing (or the wrong thing) fired. */
class ChaosAlertsTest {

  private static final String POISON_FIRED = "page completeness/elk 1h/5m: fired +14 s, resolved +60 s after recovery; "
      + "page completeness/storage 1h/5m: fired +15 s, still firing at the end, 30 s after recovery";

  @Test
  void aScenarioThatMustPageFailsWhenNoneFired() {
    assertThatThrownBy(() -> ChaosAlerts.check("poison", "none fired"))
        .isInstanceOf(AssertionError.class).hasMessageContaining("poison").hasMessageContaining("page completeness/elk");
    assertThatThrownBy(() -> ChaosAlerts.check("rush-hour", "none fired")).isInstanceOf(AssertionError.class);
    assertThatThrownBy(() -> ChaosAlerts.check("rush-hour", "")).as("not watched at all").isInstanceOf(AssertionError.class);
  }

  @Test
  void aScenarioThatMustPagePassesOnlyWithEveryExpectedPage() {
    assertThatCode(() -> ChaosAlerts.check("poison", POISON_FIRED)).doesNotThrowAnyException();
    // only one of the two sinks paged
    assertThatThrownBy(() -> ChaosAlerts.check("poison",
        "page completeness/elk 1h/5m: fired +14 s, resolved +60 s after recovery")).isInstanceOf(AssertionError.class)
        .hasMessageContaining("page completeness/storage");
    // a ticket is not a page
    assertThatThrownBy(() -> ChaosAlerts.check("rush-hour", "ticket freshness/elk 1d/2h: fired +20 s, resolved +5 s after recovery"))
        .isInstanceOf(AssertionError.class);
    assertThatCode(() -> ChaosAlerts.check("rush-hour", "ticket freshness/elk 1d/2h: fired +20 s, resolved +5 s after recovery; "
        + "page freshness/elk 1h/5m: fired +24 s, resolved +30 s after recovery")).doesNotThrowAnyException();
  }

  @Test
  void aPageThatFiredBeforeTheFaultDoesNotCount() {
    assertThatThrownBy(() -> ChaosAlerts.check("sink-lost",
        "page availability/storage 1h/5m: fired 3 s before the fault, resolved before recovery")).isInstanceOf(AssertionError.class);
  }

  @Test
  void aShortFaultMustStaySilent() {
    assertThatCode(() -> ChaosAlerts.check("region-outage", "none fired")).doesNotThrowAnyException();
    assertThatCode(() -> ChaosAlerts.check("region-outage", "ticket freshness/storage 1d/2h: fired +49 s, still firing at the end, 20 s after recovery"))
        .as("a ticket from the readings the outage stranded").doesNotThrowAnyException();
    assertThatThrownBy(() -> ChaosAlerts.check("region-outage", "page freshness/storage 1h/5m: fired +30 s, resolved +40 s after recovery"))
        .isInstanceOf(AssertionError.class).hasMessageContaining("expected no page");
    assertThatCode(() -> ChaosAlerts.check("wan-cut-planned", "planned buffer: none fired | quarter: none fired")).doesNotThrowAnyException();
    assertThatThrownBy(() -> ChaosAlerts.check("storage-unwritable", "page availability/storage 1h/5m: fired +12 s, resolved +1 s after recovery"))
        .isInstanceOf(AssertionError.class).hasMessageContaining("storage-unwritable");
    assertThatThrownBy(() -> ChaosAlerts.check("region-outage", "")).as("not watched").isInstanceOf(AssertionError.class);
  }

  @Test
  void unwatchedAndUnknownScenarios() {
    assertThatCode(() -> ChaosAlerts.check("spoofing", "")).doesNotThrowAnyException();
    assertThatThrownBy(() -> ChaosAlerts.check("new-scenario", "none fired")).hasMessageContaining("add one");
  }
}
