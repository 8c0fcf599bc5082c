package io.iotpipe.runtime.forward;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.ReadingBatch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the forwarder groups readings and when it may ack the edge, without brokers. */
class PartitionBatchesTest {

  static ReadingBatch.Entry reading(String device, int bodyBytes) {
    return new ReadingBatch.Entry("telemetry." + device, 0, new byte[bodyBytes]);
  }

  @Test
  void aDeviceAlwaysLandsInOnePartitionAndItsReadingsStayInOrder() {
    PartitionBatches b = new PartitionBatches(4, Duration.ofSeconds(1), 3, 1 << 20);
    List<PartitionBatches.Closed> closed = new ArrayList<>();
    long tag = 1;
    for (int round = 0; round < 5; round++) {
      for (int dev = 0; dev < 10; dev++) {
        closed.addAll(b.add(reading("ev-" + dev, 10), tag++, 0));
      }
    }
    closed.addAll(b.all());
    Map<String, Integer> partitionOf = new HashMap<>();
    Map<String, List<Long>> tagsOf = new HashMap<>();
    int readings = 0;
    for (PartitionBatches.Closed c : closed) {
      assertThat(c.entries()).hasSizeLessThanOrEqualTo(3).hasSameSizeAs(c.edgeTags());
      readings += c.entries().size();
      for (int i = 0; i < c.entries().size(); i++) {
        String key = c.entries().get(i).routingKey();
        assertThat(partitionOf.computeIfAbsent(key, k -> c.partition())).isEqualTo(c.partition());
        assertThat(PartitionBatches.partitionOf(key, 4)).isEqualTo(c.partition());
        tagsOf.computeIfAbsent(key, k -> new ArrayList<>()).add(c.edgeTags().get(i));
      }
    }
    assertThat(readings).isEqualTo(50);
    tagsOf.values().forEach(tags -> assertThat(tags).isSorted());
    assertThat(new java.util.HashSet<>(partitionOf.values())).as("10 devices spread over partitions").hasSizeGreaterThan(1);
  }

  @Test
  void aBatchClosesWhenFullByCountByBytesOrAfterTheLinger() {
    PartitionBatches b = new PartitionBatches(1, Duration.ofMillis(50), 100, 1000);
    assertThat(b.add(reading("a", 400), 1, 0)).isEmpty();
    assertThat(b.add(reading("a", 400), 2, 0)).isEmpty();
    // The third would pass 1000 bytes: the open batch closes first, the new reading starts the next one.
    List<PartitionBatches.Closed> c = b.add(reading("a", 400), 3, 0);
    assertThat(c).singleElement().satisfies(x -> assertThat(x.edgeTags()).containsExactly(1L, 2L));
    assertThat(b.due(49_000_000L)).isEmpty();
    assertThat(b.due(50_000_000L)).singleElement().satisfies(x -> assertThat(x.edgeTags()).containsExactly(3L));
    // A reading larger than maxBytes alone travels alone rather than never.
    assertThat(b.add(reading("a", 5000), 4, 0)).singleElement().satisfies(x -> assertThat(x.edgeTags()).containsExactly(4L));
  }

  @Test
  void theEdgeIsAckedOnlyUpToTheHighestTagBelowWhichEverythingIsConfirmed() {
    EdgeAcks acks = new EdgeAcks();
    for (long t = 1; t <= 6; t++) {
      acks.delivered(t);
    }
    assertThat(acks.confirmed(List.of(2L, 4L))).as("tag 1 is not confirmed yet").isEqualTo(-1);
    assertThat(acks.confirmed(List.of(1L, 3L))).isEqualTo(4);
    assertThat(acks.unacked()).isEqualTo(2);
    assertThat(acks.confirmed(List.of(6L))).isEqualTo(-1);
    assertThat(acks.confirmed(List.of(5L))).isEqualTo(6);
    assertThat(acks.unacked()).isZero();
  }
}
