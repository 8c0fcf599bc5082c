package io.iotpipe.core.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The contract's policies, one decision at a time, and the metric each decision is counted in. */
class ContractPolicyTest {

  private static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final String BASE = "\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2026-11-23T11:59:00Z\",\"metrics\":{\"powerKw\":7.4}";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private TelemetryCodec codec(ContractLimits limits) {
    return new TelemetryCodec(limits, CLOCK, new ContractMetrics(registry, "elk"));
  }

  private static Decoded decode(TelemetryCodec c, String json) {
    return c.decode(json.getBytes(StandardCharsets.UTF_8));
  }

  private static Telemetry valid(Decoded d) {
    assertThat(d).isInstanceOf(Decoded.Valid.class);
    return ((Decoded.Valid) d).telemetry();
  }

  private double fields(String field, String decision) {
    var c = registry.find("iotpipe.contract.unknown_fields").tags("sink", "elk", "field", field, "decision", decision).counter();
    return c == null ? 0 : c.count();
  }

  private double future(String decision) {
    var c = registry.find("iotpipe.contract.future_ts").tags("sink", "elk", "decision", decision).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void keepStoresUnknownFieldsAsAttributesAndCountsThemPerName() {
    Telemetry t = valid(decode(codec(ContractLimits.DEFAULTS), "{" + BASE + ",\"fw\":\"2.4.1\",\"connectorId\":2,\"ok\":true,\"none\":null}"));
    assertThat(t.attributes()).containsExactly(Map.entry("fw", "2.4.1"), Map.entry("connectorId", "2"), Map.entry("ok", "true"));
    assertThat(fields("fw", "kept")).isEqualTo(1);
    assertThat(fields("connectorId", "kept")).isEqualTo(1);
    assertThat(fields("none", "dropped")).isEqualTo(1);
  }

  @Test
  void keepIsBoundedInCountAndBytesAndSaysWhatItDropped() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS.withAttributeBounds(2, 20));
    // a: 1+1 bytes, big: 3+30 does not fit, b: 1+1, c: over the count of 2
    Telemetry t = valid(decode(c, "{" + BASE + ",\"a\":\"1\",\"big\":\"" + "x".repeat(30) + "\",\"b\":\"2\",\"c\":\"3\"}"));
    assertThat(t.attributes()).containsExactly(Map.entry("a", "1"), Map.entry("b", "2"));
    assertThat(fields("big", "over_limit")).isEqualTo(1);
    assertThat(fields("c", "over_limit")).isEqualTo(1);
    assertThat(fields("a", "kept")).isEqualTo(1);
  }

  @Test
  void aNameNoSinkCanStoreSafelyIsDroppedAndNeverBecomesALabel() {
    Telemetry t = valid(decode(codec(ContractLimits.DEFAULTS), "{" + BASE + ",\"a.b\":1,\"x\\ny\":2,\"fine_name\":3}"));
    assertThat(t.attributes()).containsExactly(Map.entry("fine_name", "3"));
    assertThat(fields("(invalid)", "invalid_name")).isEqualTo(2);
  }

  @Test
  void dropLandsTheReadingWithoutThemAndCountsEachName() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS.withUnknownFields(ContractLimits.UnknownFields.DROP));
    Telemetry t = valid(decode(c, "{" + BASE + ",\"fw\":\"2.4.1\",\"temperatureC\":31}"));
    assertThat(t.attributes()).isEmpty();
    assertThat(t).isEqualTo(valid(decode(c, "{" + BASE + "}")));
    assertThat(fields("fw", "dropped")).isEqualTo(1);
    assertThat(fields("temperatureC", "dropped")).isEqualTo(1);
  }

  @Test
  void rejectDeadLettersWithTheFieldNamed() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS.withUnknownFields(ContractLimits.UnknownFields.REJECT));
    Decoded d = decode(c, "{" + BASE + ",\"fw\":\"2.4.1\"}");
    assertThat(((Decoded.Invalid) d).reason()).isEqualTo("fw: unknown field (allowed: deviceId, errorCode, metrics, region, seq,"
        + " site, status, ts, v; contract.unknownFields is reject)");
    assertThat(fields("fw", "rejected")).isEqualTo(1);
  }

  @Test
  void decisionsOfAReadingDeadLetteredForAnotherReasonAreNotCountedAsKept() {
    decode(codec(ContractLimits.DEFAULTS), "{\"deviceId\":\"evc-1\",\"seq\":-1,\"ts\":\"2026-11-23T11:59:00Z\",\"fw\":\"1\"}");
    assertThat(fields("fw", "kept")).isZero();
  }

  @Test
  void aClockAheadIsKeptAndFlaggedByDefault() {
    Telemetry t = valid(decode(codec(ContractLimits.DEFAULTS), "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2026-11-23T12:30:00Z\"}"));
    assertThat(t.ts()).isEqualTo(Instant.parse("2026-11-23T12:30:00Z"));
    assertThat(t.clockAhead()).isTrue();
    assertThat(t.deviceTs()).isNull();
    assertThat(future("kept")).isEqualTo(1);
    // within maxFutureSkew: not flagged, not counted
    assertThat(valid(decode(codec(ContractLimits.DEFAULTS), "{\"deviceId\":\"evc-1\",\"seq\":4,\"ts\":\"2026-11-23T12:09:59Z\"}")).clockAhead()).isFalse();
    assertThat(future("kept")).isEqualTo(1);
  }

  @Test
  void receiveTimeReplacesTsAndKeepsTheDevicesTime() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS.withFutureTimestamps(ContractLimits.FutureTimestamps.RECEIVE_TIME));
    Telemetry t = valid(decode(c, "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2031-01-01T00:00:00Z\"}"));
    assertThat(t.ts()).isEqualTo(NOW);
    assertThat(t.deviceTs()).isEqualTo(Instant.parse("2031-01-01T00:00:00Z"));
    assertThat(t.sentTs()).isEqualTo(t.deviceTs());
    assertThat(t.clockAhead()).isTrue();
    assertThat(future("receive_time")).isEqualTo(1);
  }

  @Test
  void rejectDeadLettersAClockAheadInTheConfigsUnits() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS.withFutureTimestamps(ContractLimits.FutureTimestamps.REJECT));
    assertThat(((Decoded.Invalid) decode(c, "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2026-11-23T13:00:00Z\"}")).reason())
        .isEqualTo("ts: 2026-11-23T13:00:00Z is more than contract.maxFutureSkew (10m) ahead of the receiver's clock (2026-11-23T12:00:00Z)");
    assertThat(future("rejected")).isEqualTo(1);
  }

  @Test
  void lateReadingsWithinMaxAgeLandAtTheirOwnTimeAndOlderOnesSayTheConfigsUnits() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS);
    // a charger back online after three days uploads its buffer
    Telemetry late = valid(decode(c, "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2026-11-20T06:00:00Z\"}"));
    assertThat(late.ts()).isEqualTo(Instant.parse("2026-11-20T06:00:00Z"));
    assertThat(late.clockAhead()).isFalse();
    assertThat(valid(decode(c, "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2025-10-20T12:00:01Z\"}")).ts())
        .isEqualTo(Instant.parse("2025-10-20T12:00:01Z")); // 399.99 days
    assertThat(((Decoded.Invalid) decode(c, "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"1970-01-01T00:00:00Z\"}")).reason())
        .isEqualTo("ts: 1970-01-01T00:00:00Z is older than contract.maxAge (400d)");
  }

  @Test
  void envelopeVersionsOneAndTwoAreReadAndCountedAndThreeIsRefusedWithTheWayOut() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS);
    valid(decode(c, "{" + BASE + "}"));
    valid(decode(c, "{\"v\":1," + BASE + "}"));
    Telemetry v2 = valid(decode(c, "{\"v\":2," + BASE + ",\"attributes\":{\"fw\":\"3.0.0\",\"phase\":3}}"));
    assertThat(v2.attributes()).containsExactly(Map.entry("fw", "3.0.0"), Map.entry("phase", "3"));
    assertThat(registry.find("iotpipe.contract.envelopes").tags("v", "1").counter().count()).isEqualTo(2);
    assertThat(registry.find("iotpipe.contract.envelopes").tags("v", "2").counter().count()).isEqualTo(1);
    assertThat(((Decoded.Invalid) decode(c, "{\"v\":3," + BASE + "}")).reason()).isEqualTo("v: unsupported envelope version"
        + " number 3 (this reader knows 1 and 2: a newer envelope than this reader understands; upgrade the sinks, then replay the dead letters)");
    assertThat(((Decoded.Invalid) decode(c, "{\"v\":2," + BASE + ",\"attributes\":[1]}")).reason())
        .isEqualTo("attributes: must be an object (envelope v2), was array [1]");
    // in a v1 envelope "attributes" is just another unknown field
    assertThat(valid(decode(c, "{\"v\":1," + BASE + ",\"attributes\":{\"a\":1}}")).attributes())
        .containsExactly(Map.entry("attributes", "{\"a\":1}"));
  }

  @Test
  void metricLabelsForFieldNamesAreBounded() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS);
    for (int i = 0; i < ContractMetrics.MAX_FIELD_LABELS + 20; i++) {
      valid(decode(c, "{" + BASE + ",\"f" + i + "\":1}"));
    }
    assertThat(registry.find("iotpipe.contract.unknown_fields").counters()).hasSize(ContractMetrics.MAX_FIELD_LABELS + 1);
    assertThat(fields("(other)", "kept")).isEqualTo(20);
  }

  @Test
  void brokenJsonIsExplainedInPlainWordsWithLineAndColumn() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS);
    String truncated = "{\"deviceId\":\"evc-1\",\"seq\":3,\"ts\":\"2026-11-23T11:59:00Z\",";
    assertThat(((Decoded.Invalid) decode(c, truncated)).reason())
        .isEqualTo("body is not complete JSON: it ends inside an object (line 1, column " + (truncated.length() + 1) + ")");
    assertThat(((Decoded.Invalid) decode(c, "{\"deviceId\":\"evc-1\",\"metrics\":[1,2")).reason())
        .isEqualTo("body is not complete JSON: it ends inside an array (line 1, column 35)");
    assertThat(((Decoded.Invalid) decode(c, "{\"deviceId\":\"evc")).reason())
        .isEqualTo("body is not complete JSON: it ends inside a string (line 1, column 17)");
    assertThat(((Decoded.Invalid) decode(c, "{\"deviceId\":\"evc-1\"\n \"seq\":3}")).reason())
        .isEqualTo("body is not valid JSON: unexpected '\"' where , or } was expected (line 2, column 2)");
    assertThat(((Decoded.Invalid) decode(c, "{deviceId:1}")).reason())
        .isEqualTo("body is not valid JSON: unexpected 'd' where a field name in double quotes was expected (line 1, column 2)");
    assertThat(((Decoded.Invalid) decode(c, "{\"seq\":tru}")).reason()).startsWith("body is not valid JSON: unexpected word \"tru\"");
    assertThat(((Decoded.Invalid) decode(c, "{\"seq\":Infinity}")).reason())
        .isEqualTo("body is not valid JSON: \"Infinity\" is not a JSON value (JSON has no NaN or Infinity) (line 1, column 16)");
    assertThat(((Decoded.Invalid) decode(c, "{\"seq\":-x}")).reason())
        .isEqualTo("body is not valid JSON: unexpected 'x' in a number where a digit was expected (line 1, column 9)");
  }

  @Test
  void theParsersOwnLimitsAreWordedWithoutItsInternals() {
    TelemetryCodec c = codec(ContractLimits.DEFAULTS);
    String deep = "{\"a\":" + "[".repeat(1500) + "]".repeat(1500) + "}";
    assertThat(((Decoded.Invalid) decode(c, deep)).reason()).isEqualTo("body is nested 1001 levels deep; at most 1000 are read");
    String longNumber = "{\"deviceId\":\"a\",\"seq\":1" + "0".repeat(1200) + "}";
    assertThat(((Decoded.Invalid) decode(c, longNumber)).reason()).isEqualTo("body holds a number of 1201 characters; at most 1000 are read");
  }
}
