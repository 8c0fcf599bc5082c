package io.iotpipe.audit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CompletenessTest {

  @Test
  void completeWhenEveryConfirmedReadingIsPresentOnce() {
    Completeness c = new Completeness();
    c.expectRange("a", 1, 100);
    c.expectRange("b", 1, 3);
    for (int i = 1; i <= 100; i++) {
      c.observe("a", i);
    }
    c.observe("b", 1);
    c.observe("b", 2);
    c.observe("b", 3);
    c.observe("b", 4); // published but never confirmed: not a loss, not a duplicate
    Completeness.Result r = c.result();
    assertThat(r).isEqualTo(new Completeness.Result(103, 103, 0, 0, 1, 0, java.util.List.of()));
    assertThat(r.complete()).isTrue();
  }

  @Test
  void countsGapsAndDuplicatesPerDevice() {
    Completeness c = new Completeness();
    c.expectRange("a", 1, 5);
    c.expect("b", 1);
    c.observe("a", 1);
    c.observe("a", 2);
    c.observe("a", 2);
    c.observe("a", 5);
    Completeness.Result r = c.result();
    assertThat(r.lost()).isEqualTo(3);
    assertThat(r.duplicates()).isEqualTo(1);
    assertThat(r.devicesWithGaps()).isEqualTo(2);
    assertThat(r.examples()).containsExactlyInAnyOrder("a:3", "a:4", "b:1");
    assertThat(r.complete()).isFalse();
  }
}
