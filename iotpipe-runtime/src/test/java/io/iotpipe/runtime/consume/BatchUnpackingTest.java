package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.core.envelope.ReadingBatch;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.slo.sli.SinkSlis;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A batch of the forwarder's through the intake and the settler, without a broker: each reading is checked and
 * settled alone, a bad one is dead-lettered alone with its reason, and the batch message is acked exactly once, only
 * when every reading in it is settled.
 */
class BatchUnpackingTest {

  static final String FORWARDER = "iotpipe-forward";

  /** The batch message's channel: records acks of its delivery tags. */
  final List<Long> messageAcks = new ArrayList<>();
  final Source channel = new Source() {
    @Override
    public String queue() {
      return "iotpipe.elk.p0";
    }

    @Override
    public boolean alive() {
      return true;
    }

    @Override
    public boolean ack(Collection<Long> tags) {
      messageAcks.addAll(tags);
      return true;
    }
  };

  final Intake intake = new Intake(new TelemetryCodec(),
      new ConsumerSettings(100, 100, 1 << 20, Duration.ofMillis(1), Backoff.DEFAULT, RetryBudget.DEFAULT, Duration.ofSeconds(10)),
      FORWARDER);
  final Map<Delivery, String> deadLettered = new LinkedHashMap<>();
  final List<Delivery> retried = new ArrayList<>();
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final Settler settler = new Settler("elk", RetryBudget.DEFAULT, Backoff.DEFAULT,
      (d, reason) -> {
        deadLettered.put(d, reason);
        return CompletableFuture.completedFuture(null);
      },
      (d, delay) -> retried.add(d), System::currentTimeMillis, registry,
      new SinkSlis("elk", SloConfig.defaults(List.of("elk"), Duration.ofMinutes(1)), registry));

  static byte[] reading(String device, long seq) {
    return ("{\"v\":1,\"deviceId\":\"" + device + "\",\"seq\":" + seq + ",\"ts\":\"" + Instant.now() + "\",\"status\":\"CHARGING\","
        + "\"metrics\":{\"powerKw\":7.2}}").getBytes(StandardCharsets.UTF_8);
  }

  static AMQP.BasicProperties batchProps(String userId) {
    return new AMQP.BasicProperties.Builder().contentType(ReadingBatch.CONTENT_TYPE).userId(userId).build();
  }

  List<Delivery> unpack(long tag, AMQP.BasicProperties props, List<ReadingBatch.Entry> entries) {
    List<Delivery> ds = intake.unpack(channel, tag, "iotpipe.batches", "p0", props, ReadingBatch.encode(entries));
    ds.forEach(d -> settler.received());
    return ds;
  }

  final byte[] forged = reading("victim-01", 1);
  final List<ReadingBatch.Entry> mixed = List.of(
      new ReadingBatch.Entry("telemetry.ev-1", 1_700_000_000_000L, reading("ev-1", 1)),
      new ReadingBatch.Entry("telemetry.attacker-1", 0, forged),
      new ReadingBatch.Entry("telemetry.ev-2", 0, "{not json".getBytes(StandardCharsets.UTF_8)),
      new ReadingBatch.Entry("telemetry.ev-1", 0, reading("ev-1", 2)));

  @Test
  void eachReadingIsCheckedAgainstTheIdentityItsEntryCarriesAndSettledAloneTheBatchAckedOnceWhenAllAre() {
    List<Delivery> ds = unpack(7, batchProps(FORWARDER), mixed);
    assertThat(ds).hasSize(4);
    assertThat(ds.get(0).invalidReason()).isNull();
    assertThat(ds.get(0).record().publishedAt()).isEqualTo(1_700_000_000_000L);
    assertThat(ds.get(1).invalidReason()).isEqualTo("deviceId victim-01 does not match the publisher's routing key telemetry.attacker-1");
    assertThat(ds.get(1).body()).as("the dead letter holds the original reading").isEqualTo(forged);
    assertThat(ds.get(1).properties().getUserId()).as("a dead-letter publish with the forwarder's user_id would be refused").isNull();
    assertThat(ds.get(2).invalidReason()).startsWith("invalid telemetry: ");

    // The invalid ones are dead-lettered alone; the batch is not acked while its valid readings are unsettled.
    settler.invalid(ds.get(1));
    settler.invalid(ds.get(2));
    assertThat(deadLettered.keySet()).containsExactly(ds.get(1), ds.get(2));
    assertThat(deadLettered.values()).containsExactly(ds.get(1).invalidReason(), ds.get(2).invalidReason());
    assertThat(messageAcks).isEmpty();

    // One lands, one must be retried: still not acked.
    settler.settle(List.of(ds.get(0), ds.get(3)), List.of(Outcome.DELIVERED, Outcome.retry("HTTP 503")), null);
    assertThat(messageAcks).isEmpty();
    assertThat(retried).hasSize(1);

    // The retry lands: now the batch message is acked, once.
    settler.settle(List.of(retried.getFirst()), List.of(Outcome.DELIVERED), null);
    assertThat(messageAcks).containsExactly(7L);
    assertThat(settler.unsettled()).isZero();
    assertThat(settler.delivered()).isEqualTo(2);
    assertThat(settler.deadLetteredCount()).isEqualTo(2);
  }

  @Test
  void aRedeliveredBatchSettlesAgainAsAWholeAndTheSinkDecidesDuplicates() {
    List<Delivery> first = unpack(1, batchProps(FORWARDER), mixed.subList(0, 1));
    List<Delivery> again = unpack(2, batchProps(FORWARDER), mixed.subList(0, 1));
    settler.settle(first, List.of(Outcome.DELIVERED), null);
    settler.settle(again, List.of(Outcome.DELIVERED), null);
    assertThat(messageAcks).containsExactly(1L, 2L);
  }

  @Test
  void aBatchFromAnyoneButTheForwarderIsOneInvalidMessage() {
    List<Delivery> ds = unpack(3, batchProps("iotpipe-elk"), mixed);
    assertThat(ds).hasSize(1);
    assertThat(ds.getFirst().invalidReason())
        .isEqualTo("a batch whose user_id is \"iotpipe-elk\": only the forwarder account \"iotpipe-forward\" may publish batches");
    assertThat(unpack(4, batchProps(null), mixed).getFirst().invalidReason()).startsWith("a batch whose user_id is missing");
    Intake shovelMode = new Intake(new TelemetryCodec(),
        new ConsumerSettings(100, 100, 1 << 20, Duration.ofMillis(1), Backoff.DEFAULT, RetryBudget.DEFAULT, Duration.ofSeconds(10)));
    assertThat(shovelMode.unpack(channel, 5, "iotpipe.ingress", "telemetry.ev-1", batchProps(FORWARDER),
        ReadingBatch.encode(mixed)).getFirst().invalidReason()).contains("topology.wan.mode is not batch");
  }

  @Test
  void aBatchThatCannotBeReadIsDeadLetteredWholeWithWhatIsWrong() {
    byte[] whole = ReadingBatch.encode(mixed);
    List<Delivery> ds = intake.unpack(channel, 9, "iotpipe.batches", "p0", batchProps(FORWARDER),
        java.util.Arrays.copyOf(whole, whole.length - 5));
    assertThat(ds).hasSize(1);
    assertThat(ds.getFirst().invalidReason()).startsWith("invalid batch truncated in entry 4 of 4");
  }

  @Test
  void aPlainReadingIsUnchanged() {
    List<Delivery> ds = intake.unpack(channel, 1, "iotpipe.p0", "telemetry.ev-1", new AMQP.BasicProperties(), reading("ev-1", 1));
    assertThat(ds).singleElement().satisfies(d -> {
      assertThat(d.invalidReason()).isNull();
      assertThat(d.source()).isSameAs(channel);
    });
  }
}
