package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.stream.Consumer;
import com.rabbitmq.stream.MessageHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The stream's settlement contract: the stored position never passes a record the sink has not settled. */
class StreamPartitionTest {

  final List<Long> stores = new ArrayList<>();
  final AtomicInteger processed = new AtomicInteger();
  final java.util.Map<Long, Integer> processedTimes = new java.util.concurrent.ConcurrentHashMap<>();
  final StreamPartition p = new StreamPartition("t.p0.stream", stores::add, 100);

  MessageHandler.Context context(long offset) {
    return new MessageHandler.Context() {
      @Override public long offset() { return offset; }
      @Override public void storeOffset() { throw new AssertionError("positions are stored by StreamPartition only"); }
      @Override public long timestamp() { return 0; }
      @Override public long committedChunkId() { return 0; }
      @Override public String stream() { return "t.p0.stream"; }
      @Override public Consumer consumer() { return null; }
      @Override public void processed() {
        processed.incrementAndGet();
        processedTimes.merge(offset, 1, Integer::sum);
      }
    };
  }

  void receive(long... offsets) {
    for (long o : offsets) {
      p.track(o, context(o));
    }
  }

  @Test
  void thePositionMovesOnlyPastRecordsSettledWithoutGapAndOncePerSettlement() {
    receive(10, 11, 12, 13);
    assertThat(p.ack(List.of(11L, 12L))).isTrue();
    assertThat(stores).as("10 is not settled: nothing may be stored past it").isEmpty();
    assertThat(processed).as("within the prefetch window records free chunk credit as they arrive").hasValue(4);
    assertThat(p.ack(List.of(10L))).isTrue();
    assertThat(stores).containsExactly(12L);
    p.ack(List.of(13L));
    p.ack(List.of(13L)); // a second settlement of the same record changes nothing
    assertThat(stores).containsExactly(12L, 13L);
    assertThat(processed).hasValue(4);
    assertThat(p.stored()).isEqualTo(13);
  }

  @Test
  void beyondThePrefetchWindowCreditWaitsForSettlementAndEachRecordIsReportedProcessedOnce() {
    StreamPartition small = new StreamPartition("s", stores::add, 2);
    for (long o = 10; o <= 13; o++) {
      small.track(o, context(o));
    }
    assertThat(processedTimes).as("the window: two records credited on arrival").containsOnlyKeys(10L, 11L);
    small.ack(List.of(12L));
    assertThat(processedTimes).as("a settled record beyond the window is credited then").containsOnlyKeys(10L, 11L, 12L);
    small.ack(List.of(10L));
    assertThat(processedTimes).as("settling a credited record makes room for the next waiting one").containsKey(13L);
    small.ack(List.of(11L, 13L));
    assertThat(processedTimes.values()).as("each record reported processed exactly once").containsOnly(1);
    assertThat(processed).hasValue(4);
    assertThat(stores).containsExactly(10L, 13L);
  }

  @Test
  void anInstanceThatLostThePartitionStoresNothing() {
    receive(0, 1);
    p.kill();
    assertThat(p.ack(List.of(0L, 1L))).as("its settlements are stale").isFalse();
    assertThat(stores).isEmpty();
    assertThat(p.alive()).isFalse();
  }

  @Test
  void aFailedStoreIsCoveredByTheNextOne() {
    List<Long> ok = new ArrayList<>();
    AtomicInteger calls = new AtomicInteger();
    StreamPartition flaky = new StreamPartition("s", o -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("connection closed");
      }
      ok.add(o);
    }, 10);
    flaky.track(0, context(0));
    flaky.track(1, context(1));
    assertThat(flaky.ack(List.of(0L))).isTrue();
    assertThat(flaky.stored()).isEqualTo(-1);
    flaky.ack(List.of(1L));
    assertThat(ok).containsExactly(1L);
  }
}
