package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** Ack coalescing: what reaches the broker for a given order of settlements (a recording fake channel). */
class SubscriptionTest {

  record Ack(long tag, boolean multiple) {}

  final List<Ack> acks = new ArrayList<>();

  Subscription subscription(int prefetch, long deliveries) {
    Channel ch = (Channel) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Channel.class}, (proxy, m, args) -> {
      switch (m.getName()) {
        case "basicAck" -> acks.add(new Ack((long) args[0], (boolean) args[1]));
        case "isOpen" -> {
          return true;
        }
        default -> { }
      }
      return null;
    });
    Subscription s = new Subscription("q", ch, prefetch);
    LongStream.rangeClosed(1, deliveries).forEach(s::track);
    return s;
  }

  @Test
  void settlementsOutOfOrderBecomeOneMultipleAck() {
    // A file commit settles two consumer batches; the later batch completes first (its slowest partition was faster).
    Subscription s = subscription(20_000, 6000);
    assertThat(s.ack(LongStream.rangeClosed(3001, 6000).boxed().toList())).isTrue();
    assertThat(acks).isEmpty();
    s.ack(LongStream.rangeClosed(1, 3000).boxed().toList());
    assertThat(acks).containsExactly(new Ack(6000, true));
  }

  @Test
  void aRetriedDeliveryHoldsBackAtMostHalfThePrefetch() {
    Subscription s = subscription(1000, 2000);
    // Tag 1 is being retried; everything after it settles.
    LongStream.rangeClosed(2, 2000).forEach(s::ack);
    assertThat(acks).as("sent singly once 500 waited, so the broker keeps delivering").hasSizeGreaterThanOrEqualTo(1500)
        .allMatch(a -> !a.multiple()).doesNotContain(new Ack(1, false));
    int singles = acks.size();
    s.ack(1);
    assertThat(acks).as("settling the retried one releases everything still held back in one frame").hasSize(singles + 1);
    assertThat(acks.getLast()).isEqualTo(new Ack(2000, true));
    assertThat(acks.stream().map(Ack::tag).distinct().count()).as("no tag acked twice").isEqualTo(acks.size());
  }

  @Test
  void aSettledBatchIsOneFrame() {
    Subscription s = subscription(100, 10);
    s.ack(LongStream.rangeClosed(1, 10).boxed().toList());
    assertThat(acks).containsExactly(new Ack(10, true));
  }
}
