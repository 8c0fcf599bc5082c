package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.slo.sli.SinkSlis;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Settlement decisions without a broker: what is acked, retried and dead-lettered, and what health says, for a
 * poison message among good ones and for an outage where every write fails.
 */
class SettlerTest {

  final AtomicLong now = new AtomicLong(1_000_000);
  final List<Long> acked = new ArrayList<>();
  final Map<Long, String> deadLettered = new java.util.LinkedHashMap<>();
  final List<Delivery> retried = new ArrayList<>();
  boolean deadLetterFails;

  final Source source = new Source() {
    @Override
    public String queue() {
      return "p0";
    }

    @Override
    public boolean alive() {
      return true;
    }

    @Override
    public boolean ack(Collection<Long> tags) {
      acked.addAll(tags);
      return true;
    }
  };

  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Settler settler = new Settler("elk", new RetryBudget(3, Duration.ofSeconds(30)),
      new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5)),
      (d, reason) -> {
        if (deadLetterFails) {
          return CompletableFuture.failedFuture(new java.io.IOException("channel closed"));
        }
        deadLettered.put(d.tag(), reason);
        return CompletableFuture.completedFuture(null);
      },
      (d, delay) -> retried.add(d), now::get, registry,
      new SinkSlis("elk", SloConfig.defaults(List.of("elk"), Duration.ofMinutes(1)), registry));

  long nextTag = 1;

  Delivery delivery() {
    long tag = nextTag++;
    Telemetry t = new Telemetry("dev-1", tag, Instant.ofEpochMilli(now.get()), "s", "r", "CHARGING", null, Map.of());
    settler.received();
    return Delivery.valid(source, tag, "telemetry.dev-1", new AMQP.BasicProperties(), new byte[0],
        new SinkRecord(t, new byte[0], "p0", now.get()));
  }

  /** The last retry of {@code d} (the settler hands a new value with the failure counted). */
  Delivery retriedOf(Delivery d) {
    return retried.stream().filter(r -> r.tag() == d.tag()).reduce((a, b) -> b).orElseThrow();
  }

  @Test
  void aPoisonMessageAmongGoodOnesIsDeadLetteredOnceItsBudgetIsSpent() {
    Delivery poison = delivery();
    for (int round = 0; round < 10 && !deadLettered.containsKey(poison.tag()); round++) {
      Delivery good = delivery();
      settler.settle(List.of(poison, good), List.of(Outcome.retry("mapper_parsing_exception"), Outcome.DELIVERED), null);
      if (!deadLettered.containsKey(poison.tag())) {
        poison = retriedOf(poison);
      }
      now.addAndGet(15_000);
    }
    assertThat(deadLettered).containsOnlyKeys(poison.tag());
    assertThat(deadLettered.get(poison.tag())).isEqualTo("retries exhausted: mapper_parsing_exception");
    assertThat(poison.failures()).as("at least the budget's attempts").isGreaterThanOrEqualTo(2);
    assertThat(acked).contains(poison.tag()).hasSize(1 + (int) (nextTag - 2));
    assertThat(settler.writeHealth(Duration.ofSeconds(10)).state()).isEqualTo(SinkHealth.State.UP);
    assertThat(settler.unsettled()).isZero();
  }

  @Test
  void notBeforeBothBoundsOfTheBudgetAreSpent() {
    Delivery poison = delivery();
    for (int round = 0; round < 20; round++) {
      settler.settle(List.of(poison, delivery()), List.of(Outcome.retry("boom"), Outcome.DELIVERED), null);
      poison = retriedOf(poison);
      now.addAndGet(100); // many quick attempts, but far less than 30 s
    }
    assertThat(deadLettered).isEmpty();
  }

  @Test
  void anOutageNeverDeadLettersHealthyDataAndHealthSaysDegradedUntilWritesSucceed() {
    List<Delivery> batch = List.of(delivery(), delivery(), delivery());
    settler.settle(batch, List.of(Outcome.DELIVERED, Outcome.DELIVERED, Outcome.DELIVERED), null);
    now.addAndGet(1_000);
    List<Delivery> pending = List.of(delivery(), delivery());
    for (int round = 0; round < 100; round++) { // 100 rounds x 5 s: far past the 3-attempt / 30 s budget
      settler.settle(pending, null, new java.net.ConnectException("Connection refused"));
      pending = pending.stream().map(this::retriedOf).toList();
      now.addAndGet(5_000);
    }
    assertThat(deadLettered).as("nothing dead-lettered during an outage").isEmpty();
    SinkHealth during = settler.writeHealth(Duration.ofSeconds(10));
    assertThat(during.state()).isEqualTo(SinkHealth.State.DEGRADED);
    assertThat(during.reason()).contains("writes failing for 500 s").contains("Connection refused");

    settler.settle(pending, List.of(Outcome.DELIVERED, Outcome.DELIVERED), null);
    assertThat(settler.writeHealth(Duration.ofSeconds(10))).isEqualTo(SinkHealth.UP);
    assertThat(acked).hasSize(5);
    assertThat(settler.unsettled()).isZero();
  }

  @Test
  void aRejectGoesToTheDeadLetterQueueWithTheSinksReasonAndIsAckedAfterTheConfirm() {
    Delivery d = delivery();
    settler.settle(List.of(d), List.of(Outcome.reject("(deviceId dev-1, seq 1) already indexed with different content")), null);
    assertThat(deadLettered.get(d.tag())).isEqualTo("elk rejected: (deviceId dev-1, seq 1) already indexed with different content");
    assertThat(acked).containsExactly(d.tag());
  }

  @Test
  void aFailedDeadLetterPublishKeepsTheMessageAndTriesAgain() {
    deadLetterFails = true;
    Delivery d = delivery();
    settler.settle(List.of(d), List.of(Outcome.reject("bad")), null);
    assertThat(acked).as("never acked before the dead-letter copy is confirmed").isEmpty();
    assertThat(retried).extracting(Delivery::tag).containsExactly(d.tag());
    assertThat(settler.unsettled()).isEqualTo(1);
  }

  @Test
  void reasonsFromInputAreEscapedAndBounded() {
    Delivery d = Delivery.invalid(source, 99, "telemetry.x", new AMQP.BasicProperties(), new byte[0],
        "deviceId \"evil\nFAKE LOG LINE\u0000\" " + "x".repeat(5000));
    settler.received();
    settler.invalid(d);
    assertThat(deadLettered.get(99L)).doesNotContain("\n").doesNotContain("\u0000").contains("\\n").hasSizeLessThan(600);
  }

  @Test
  void everyDurableReadingFeedsTheCompletenessAndFreshnessIndicators() {
    List<Delivery> batch = List.of(delivery(), delivery(), delivery());
    settler.settle(batch, List.of(Outcome.DELIVERED, Outcome.DELIVERED, Outcome.DELIVERED), null);
    assertThat(registry.get(io.iotpipe.slo.SloMetrics.READINGS).tag("sink", "elk").counter().count()).isEqualTo(3);
    assertThat(registry.get(io.iotpipe.slo.SloMetrics.GAPS_OPEN).tag("sink", "elk").gauge().value()).isZero();
  }

  @Test
  void aWrongNumberOfOutcomesRetriesTheWholeBatch() {
    List<Delivery> batch = List.of(delivery(), delivery());
    settler.settle(batch, List.of(Outcome.DELIVERED), null);
    assertThat(acked).isEmpty();
    assertThat(retried).hasSize(2);
  }
}
