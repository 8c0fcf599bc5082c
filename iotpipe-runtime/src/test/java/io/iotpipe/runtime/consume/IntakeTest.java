package io.iotpipe.runtime.consume;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Decoding, the identity check and batching, without a broker. */
class IntakeTest {

  final Source source = new Source() {
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
      return true;
    }
  };

  final Intake intake = new Intake(new TelemetryCodec(),
      new ConsumerSettings(100, 3, 1 << 20, Duration.ofMillis(1), Backoff.DEFAULT, RetryBudget.DEFAULT, Duration.ofSeconds(10)));

  static byte[] reading(String device, long seq, Instant ts) {
    return ("{\"v\":1,\"deviceId\":\"" + device + "\",\"seq\":" + seq + ",\"ts\":\"" + ts + "\",\"status\":\"CHARGING\","
        + "\"metrics\":{\"powerKw\":7.2}}").getBytes(StandardCharsets.UTF_8);
  }

  /** Devices evc-a1 (tenant a) and evc-n (none), as the tenant registry would answer. */
  final Intake tenantIntake = new Intake(new TelemetryCodec(),
      new ConsumerSettings(100, 3, 1 << 20, Duration.ofMillis(1), Backoff.DEFAULT, RetryBudget.DEFAULT, Duration.ofSeconds(10)),
      device -> device.equals("evc-a1") ? "a" : null);

  static byte[] claiming(String device, String tenant) {
    String r = new String(reading(device, 1, Instant.now()), StandardCharsets.UTF_8);
    return (r.substring(0, r.length() - 1) + ",\"tenant\":\"" + tenant + "\"}").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void eachReadingCarriesItsDevicesTenantFromTheRegistryNotFromItsBody() {
    Delivery d = tenantIntake.accept(source, 1, "iotpipe.p0", "telemetry.evc-a1", new AMQP.BasicProperties(), reading("evc-a1", 1, Instant.now()));
    assertThat(d.record().telemetry().tenant()).isEqualTo("a");
    Delivery same = tenantIntake.accept(source, 2, "iotpipe.p0", "telemetry.evc-a1", new AMQP.BasicProperties(), claiming("evc-a1", "a"));
    assertThat(same.invalidReason()).as("claiming its own tenant is no lie").isNull();
    assertThat(same.record().telemetry().tenant()).isEqualTo("a");
    Delivery none = tenantIntake.accept(source, 3, "iotpipe.p0", "telemetry.evc-n", new AMQP.BasicProperties(), reading("evc-n", 1, Instant.now()));
    assertThat(none.record().telemetry().tenant()).as("a device without a tenant keeps today's behaviour").isNull();
  }

  @Test
  void aReadingClaimingAnotherTenantIsDeadLetteredWithTheReason() {
    Delivery d = tenantIntake.accept(source, 1, "iotpipe.p0", "telemetry.evc-a1", new AMQP.BasicProperties(), claiming("evc-a1", "b"));
    assertThat(d.record()).isNull();
    assertThat(d.invalidReason()).isEqualTo("deviceId evc-a1 belongs to tenant a; the reading claims tenant b");
    Delivery none = tenantIntake.accept(source, 2, "iotpipe.p0", "telemetry.evc-n", new AMQP.BasicProperties(), claiming("evc-n", "b"));
    assertThat(none.invalidReason()).isEqualTo("deviceId evc-n has no tenant; the reading claims tenant b");
  }

  @Test
  void aReadingPublishedUnderItsOwnDevicesKeyIsValid() {
    Delivery d = intake.accept(source, 1, "iotpipe.p0", "telemetry.victim-01", new AMQP.BasicProperties(),
        reading("victim-01", 1, Instant.now()));
    assertThat(d.invalidReason()).isNull();
    assertThat(d.record().telemetry().deviceId()).isEqualTo("victim-01");
  }

  @Test
  void aReadingNamingAnotherDeviceThanItsRoutingKeyIsRefusedWithTheReason() {
    Delivery d = intake.accept(source, 1, "iotpipe.p0", "telemetry.attacker-1", new AMQP.BasicProperties(),
        reading("victim-01", 1, Instant.now()));
    assertThat(d.record()).isNull();
    assertThat(d.invalidReason()).isEqualTo("deviceId victim-01 does not match the publisher's routing key telemetry.attacker-1");
  }

  @Test
  void aPrefixOrSuffixOfTheDeviceIdIsNotItsKey() {
    for (String key : List.of("telemetry.victim-0", "telemetry.victim-011", "telemetryXvictim-01", "victim-01", "x.telemetry.victim-01")) {
      assertThat(Intake.identityMismatch("victim-01", key)).as(key).isNotNull();
    }
  }

  @Test
  void aReplayIsCheckedAgainstTheOriginalRoutingKeyKeptInItsHeaders() {
    var props = new AMQP.BasicProperties.Builder().headers(Map.of(Intake.ROUTING_KEY_HEADER, "telemetry.victim-01")).build();
    assertThat(intake.accept(source, 1, "", "iotpipe.elk.p0", props, reading("victim-01", 1, Instant.now())).invalidReason()).isNull();
    var spoofed = new AMQP.BasicProperties.Builder().headers(Map.of(Intake.ROUTING_KEY_HEADER, "telemetry.attacker-1")).build();
    assertThat(intake.accept(source, 2, "", "iotpipe.elk.p0", spoofed, reading("victim-01", 1, Instant.now())).invalidReason())
        .contains("does not match");
    assertThat(intake.accept(source, 3, "", "iotpipe.elk.p0", new AMQP.BasicProperties(), reading("victim-01", 1, Instant.now())).invalidReason())
        .as("straight into the queue without a recorded key").contains("routing key (none)");
  }

  @Test
  void mqttReadingsWithoutPropertiesTakeTheirPublishTimeFromTheReading() {
    Instant ts = Instant.parse("2026-11-25T10:00:00.123Z");
    Delivery d = intake.accept(source, 1, "iotpipe.p0", "telemetry.ev-1", new AMQP.BasicProperties(), reading("ev-1", 1, ts));
    assertThat(d.record()).as(String.valueOf(d.invalidReason())).isNotNull();
    assertThat(d.record().publishedAt()).isEqualTo(ts.toEpochMilli());
    var amqp = new AMQP.BasicProperties.Builder().headers(Map.of(Intake.PUBLISHED_AT_HEADER, 42L)).build();
    assertThat(Intake.publishedAt(amqp, ts.toEpochMilli())).isEqualTo(42L);
  }

  @Test
  void invalidBodiesAreReportedAsInvalidTelemetry() {
    Delivery d = intake.accept(source, 1, "iotpipe.p0", "telemetry.x", new AMQP.BasicProperties(), "{not json".getBytes(StandardCharsets.UTF_8));
    assertThat(d.invalidReason()).startsWith("invalid telemetry: ");
  }

  @Test
  void batchesCloseAtTheirCount() throws Exception {
    for (int i = 1; i <= 7; i++) {
      intake.accept(source, i, "iotpipe.p0", "telemetry.ev-1", new AMQP.BasicProperties(), reading("ev-1", i, Instant.now()));
    }
    assertThat(intake.nextBatch(100)).hasSize(3);
    assertThat(intake.nextBatch(100)).hasSize(3);
    assertThat(intake.nextBatch(100)).hasSize(1);
    assertThat(intake.nextBatch(1)).isEmpty();
  }
}
