package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CommittedSeqsTest {

  @Test
  void rangesSurviveTheSideFileRoundTripAndKeepHoles() {
    CommittedSeqs c = new CommittedSeqs();
    for (long s = 1; s <= 100; s++) {
      if (s != 50) { // 50 was retried and is not committed yet: it is no duplicate
        c.add("evc-1", s);
      }
    }
    c.add("evc-2", 7);
    CommittedSeqs back = CommittedSeqs.fromRanges(c.toRanges());
    assertThat(back.contains("evc-1", 49)).isTrue();
    assertThat(back.contains("evc-1", 50)).isFalse();
    assertThat(back.contains("evc-1", 51)).isTrue();
    assertThat(back.contains("evc-1", 101)).isFalse();
    assertThat(back.contains("evc-2", 7)).isTrue();
    assertThat(back.contains("evc-3", 7)).isFalse();
    assertThat(c.toRanges().get("evc-1")).hasSize(2); // two ranges, not 99 entries
  }

  @Test
  void aCopyIsIndependent() {
    CommittedSeqs c = new CommittedSeqs();
    c.add("d", 1);
    CommittedSeqs copy = c.copy();
    copy.add("d", 2);
    assertThat(c.contains("d", 2)).isFalse();
    assertThat(copy.contains("d", 2)).isTrue();
  }
}
