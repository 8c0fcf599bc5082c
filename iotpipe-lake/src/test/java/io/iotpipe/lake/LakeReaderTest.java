package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class LakeReaderTest {

  @Test
  void freshnessPercentilesAreNearestRankOverTheExactHistogram() {
    TreeMap<Long, Long> h = new TreeMap<>();
    h.put(10L, 1L);
    h.put(20L, 97L);
    h.put(400L, 1L);
    h.put(500L, 1L);
    assertThat(LakeReader.percentile(h, 100, 0.50)).isEqualTo(20);
    assertThat(LakeReader.percentile(h, 100, 0.98)).isEqualTo(20);
    assertThat(LakeReader.percentile(h, 100, 0.99)).as("the 99th of 100 readings").isEqualTo(400);
    assertThat(LakeReader.percentile(h, 100, 1.0)).isEqualTo(500);
    assertThat(LakeReader.percentile(h, 100, 0.0)).as("rank 1 at least").isEqualTo(10);
  }
}
