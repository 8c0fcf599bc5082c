package io.iotpipe.core.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Readings as three firmware generations of a charger send them (test resources {@code firmware/}): generation 1
 * without {@code v}, with offsets and three days of buffered readings; generation 2 ({@code v: 1}) with extra
 * top-level fields; generation 3 ({@code v: 2}) with an {@code attributes} object, a stray top-level field and a clock
 * half an hour ahead. With the default contract every one lands, nothing of what they sent is lost.
 */
class FirmwareCorpusTest {

  static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");

  /** The lines of a corpus file. */
  static List<String> corpus(String generation) throws IOException {
    try (InputStream in = FirmwareCorpusTest.class.getResourceAsStream("/firmware/" + generation + ".jsonl")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }
  }

  private static List<Telemetry> decodeAll(TelemetryCodec codec, String generation) throws IOException {
    List<Telemetry> out = new ArrayList<>();
    for (String line : corpus(generation)) {
      Decoded d = codec.decode(line.getBytes(StandardCharsets.UTF_8));
      assertThat(d).as("%s: %s", generation, line).isInstanceOf(Decoded.Valid.class);
      out.add(((Decoded.Valid) d).telemetry());
    }
    return out;
  }

  private final TelemetryCodec defaults = new TelemetryCodec(ContractLimits.DEFAULTS, Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void everyGenerationLandsWithTheDefaultContract() throws IOException {
    List<Telemetry> gen1 = decodeAll(defaults, "gen1-fw1");
    List<Telemetry> gen2 = decodeAll(defaults, "gen2-fw2");
    List<Telemetry> gen3 = decodeAll(defaults, "gen3-fw3");
    assertThat(gen1).hasSize(4).allSatisfy(t -> assertThat(t.attributes()).isEmpty());
    // three days late: lands, at its own time
    assertThat(gen1.get(2).ts()).isEqualTo(Instant.parse("2026-11-20T08:15:30Z"));
    assertThat(gen1.get(0).ts()).isEqualTo(Instant.parse("2026-11-23T11:59:10Z"));

    assertThat(gen2.get(0).attributes()).containsExactly(
        Map.entry("fw", "2.4.1"), Map.entry("connectorId", "2"), Map.entry("temperatureC", "31.5"));
    assertThat(gen2.get(1).attributes()).containsEntry("plug", "{\"type\":\"CCS2\",\"locked\":true}");
    assertThat(gen2.get(2).attributes()).containsEntry("authMethod", "RFID");
    assertThat(gen2.get(0).metrics()).containsEntry("currentA", 32.0);

    assertThat(gen3.get(0).attributes()).containsExactly(
        Map.entry("fw", "3.0.0"), Map.entry("connectorId", "1"), Map.entry("channel", "stable"));
    assertThat(gen3.get(1).attributes()).containsEntry("meterSerial", "MTR-99812").containsEntry("fw", "3.0.0");
    // 30 minutes ahead of the receiver: kept as sent, flagged
    Telemetry ahead = gen3.get(2);
    assertThat(ahead.ts()).isEqualTo(Instant.parse("2026-11-23T12:30:00Z"));
    assertThat(ahead.clockAhead()).isTrue();
    assertThat(ahead.deviceTs()).isNull();
    assertThat(gen3.get(0).clockAhead()).isFalse();
  }

  @Test
  void theStrictContractStillDeadLettersWhatItDoesNotKnowWithTheFieldsNamed() throws IOException {
    TelemetryCodec strict = new TelemetryCodec(ContractLimits.DEFAULTS.withUnknownFields(ContractLimits.UnknownFields.REJECT)
        .withFutureTimestamps(ContractLimits.FutureTimestamps.REJECT), Clock.fixed(NOW, ZoneOffset.UTC));
    decodeAll(strict, "gen1-fw1");
    String gen2 = corpus("gen2-fw2").getFirst();
    assertThat(((Decoded.Invalid) strict.decode(gen2.getBytes(StandardCharsets.UTF_8))).errors())
        .hasSize(3).allSatisfy(e -> assertThat(e).contains(": unknown field").endsWith("contract.unknownFields is reject)"))
        .anySatisfy(e -> assertThat(e).startsWith("fw: unknown field"));
    // v2's attributes object is part of v2: only the stray top-level field and the clock are refused
    String gen3 = corpus("gen3-fw3").get(1);
    assertThat(((Decoded.Invalid) strict.decode(gen3.getBytes(StandardCharsets.UTF_8))).errors())
        .singleElement().asString().startsWith("meterSerial: unknown field");
    String gen3Ahead = corpus("gen3-fw3").get(2);
    assertThat(((Decoded.Invalid) strict.decode(gen3Ahead.getBytes(StandardCharsets.UTF_8))).reason())
        .isEqualTo("ts: 2026-11-23T12:30:00Z is more than contract.maxFutureSkew (10m) ahead of the receiver's clock (2026-11-23T12:00:00Z)");
  }

  @Test
  void everyReadingOfEveryGenerationSurvivesOurOwnEncoding() throws IOException {
    for (String g : List.of("gen1-fw1", "gen2-fw2", "gen3-fw3")) {
      for (Telemetry t : decodeAll(defaults, g)) {
        assertThat(defaults.decode(defaults.encode(t))).isEqualTo(new Decoded.Valid(t));
      }
    }
  }
}
