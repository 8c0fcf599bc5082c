package io.iotpipe.core.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TelemetryCodecTest {

  private static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");
  private final TelemetryCodec codec = new TelemetryCodec(ContractLimits.DEFAULTS, Clock.fixed(NOW, ZoneOffset.UTC));
  /** The strict contract of before the policies: what these tests check about rejected input holds there. */
  private final TelemetryCodec strict = new TelemetryCodec(
      ContractLimits.DEFAULTS.withUnknownFields(ContractLimits.UnknownFields.REJECT), Clock.fixed(NOW, ZoneOffset.UTC));

  private Decoded decode(String json) {
    return codec.decode(json.getBytes(StandardCharsets.UTF_8));
  }

  private List<String> errors(String json) {
    Decoded d = strict.decode(json.getBytes(StandardCharsets.UTF_8));
    assertThat(d).isInstanceOf(Decoded.Invalid.class);
    return ((Decoded.Invalid) d).errors();
  }

  @Test
  void roundTripsAReading() {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("powerKw", 11.0);
    metrics.put("soc", 54.5);
    Telemetry t = new Telemetry("ch-000042", 17, NOW.minusSeconds(5), "ams-03", "eu-west", "CHARGING", null, metrics);
    Decoded d = codec.decode(codec.encode(t));
    assertThat(d).isEqualTo(new Decoded.Valid(t));
    assertThat(t.id()).isEqualTo("ch-000042:17");
  }

  @Test
  void acceptsAnyOffsetAndNormalisesToUtc() {
    Decoded d = decode("{\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T13:00:00+01:00\"}");
    assertThat(((Decoded.Valid) d).telemetry().ts()).isEqualTo(NOW);
  }

  @Test
  void reportsEveryProblemWithItsField() {
    List<String> errors = errors("{\"deviceId\":\"\",\"seq\":-3,\"ts\":1234,\"status\":7,\"metrics\":{\"p\":\"high\"},\"colour\":1}");
    assertThat(errors).anyMatch(e -> e.startsWith("colour: unknown field"))
        .anyMatch(e -> e.startsWith("deviceId: \"\" does not match"))
        .anyMatch(e -> e.equals("seq: must be >= 1, was -3"))
        .anyMatch(e -> e.startsWith("ts: must be an ISO-8601 string"))
        .anyMatch(e -> e.startsWith("status: must be a string"))
        .anyMatch(e -> e.startsWith("metrics.p: must be a number"));
  }

  @Test
  void rejectsBrokenInputWithoutThrowing() {
    assertThat(errors("{\"deviceId\":")).containsExactly("body is not complete JSON: it ends inside an object (line 1, column 13)");
    assertThat(errors("[1,2]")).containsExactly("body: expected a JSON object");
    assertThat(codec.decode(new byte[0])).isEqualTo(new Decoded.Invalid(List.of("body: empty message")));
    byte[] badUtf8 = {'{', '"', 'd', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
    assertThat(((Decoded.Invalid) codec.decode(badUtf8)).reason())
        .startsWith("body: not valid UTF-8 (byte 0xC3 at offset 6)");
    assertThat(errors("{\"deviceId\":\"a\",\"seq\":1,\"seq\":2,\"ts\":\"2026-11-23T12:00:00Z\"}")).containsExactly(
        "body has the field \"seq\" twice: which one is meant is ambiguous (line 1, column 30)");
  }

  @Test
  void enforcesSizeAndTimeLimits() {
    TelemetryCodec small = new TelemetryCodec(new ContractLimits(100, 2, Duration.ofMinutes(5), Duration.ofDays(1)),
        Clock.fixed(NOW, ZoneOffset.UTC));
    assertThat(((Decoded.Invalid) small.decode(new byte[101])).reason()).isEqualTo("body: 101 bytes exceeds contract.maxBytes (100 bytes)");
    TelemetryCodec rejectAhead = new TelemetryCodec(new ContractLimits(100, 2, Duration.ofMinutes(5), Duration.ofDays(1))
        .withFutureTimestamps(ContractLimits.FutureTimestamps.REJECT), Clock.fixed(NOW, ZoneOffset.UTC));
    assertThat(((Decoded.Invalid) rejectAhead.decode("{\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:10:00Z\"}".getBytes()))
        .reason()).isEqualTo("ts: 2026-11-23T12:10:00Z is more than contract.maxFutureSkew (5m) ahead of the receiver's clock (2026-11-23T12:00:00Z)");
    assertThat(((Decoded.Invalid) small.decode("{\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2020-01-01T00:00:00Z\"}".getBytes()))
        .reason()).isEqualTo("ts: 2020-01-01T00:00:00Z is older than contract.maxAge (1d)");
    assertThat(((Decoded.Invalid) small.decode("{\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\",\"metrics\":{\"a\":1,\"b\":2,\"c\":3}}".getBytes()))
        .reason()).isEqualTo("metrics: 3 entries exceed contract.maxMetrics (2)");
  }

  @Test
  void rejectsAbsurdNumbers() {
    assertThat(errors("{\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\",\"metrics\":{\"p\":1e300}}"))
        .singleElement().asString().startsWith("metrics.p: value out of range");
    assertThat(errors("{\"deviceId\":\"a\",\"seq\":1.5,\"ts\":\"2026-11-23T12:00:00Z\"}"))
        .singleElement().asString().startsWith("seq: must be an integer");
    // 2^32 + 1 is not version 1, although its low 32 bits are
    assertThat(errors("{\"v\":4294967297,\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\"}"))
        .singleElement().asString().startsWith("v: unsupported envelope version number 4294967297");
    assertThat(decode("{\"v\":1.0,\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\"}")).isInstanceOf(Decoded.Valid.class);
  }

  private static final String READING = "{\"deviceId\":\"ch-1\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\",\"metrics\":{\"soc\":5}}";

  @Test
  void saysUtf16IsNotUtf8InsteadOfGuessingTheEncoding() {
    byte[] utf16WithBom = ("\uFEFF" + READING).getBytes(StandardCharsets.UTF_16LE); // starts FF FE
    assertThat(((Decoded.Invalid) codec.decode(utf16WithBom)).reason()).isEqualTo(
        "body: not valid UTF-8 (byte 0xFF at offset 0; it starts with a UTF-16 byte order mark): send the JSON encoded as UTF-8");
    // Without a byte order mark UTF-16 is valid UTF-8 full of NULs: Jackson would have read it as UTF-16 and accepted it.
    for (var cs : List.of(StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE)) {
      assertThat(((Decoded.Invalid) codec.decode(READING.getBytes(cs))).reason())
          .startsWith("body is not valid JSON").contains("NUL bytes: UTF-16 or UTF-32?");
    }
  }

  @Test
  void pointsAtTheFirstBadByte() {
    byte[] truncated = "{\"site\":\"Z\u00fc".getBytes(StandardCharsets.UTF_8);
    byte[] cut = java.util.Arrays.copyOf(truncated, truncated.length - 1); // drops the 2nd byte of \u00fc
    assertThat(((Decoded.Invalid) codec.decode(cut)).reason()).startsWith("body: not valid UTF-8 (byte 0xC3 at offset 10)");
    byte[] surrogate = {'{', '"', 'a', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'}; // CESU-8 U+D800
    assertThat(((Decoded.Invalid) codec.decode(surrogate)).reason()).startsWith("body: not valid UTF-8 (byte 0xED at offset 6)");
  }

  @Test
  void acceptsAUtf8ByteOrderMarkAndNonAsciiText() {
    byte[] withBom = ("\uFEFF" + READING).getBytes(StandardCharsets.UTF_8);
    assertThat(codec.decode(withBom)).isInstanceOf(Decoded.Valid.class);
    // non-ASCII inside a string is fine as long as it is UTF-8; here it only fails the deviceId shape
    assertThat(errors("{\"deviceId\":\"Z\u00fcrich-\u6700\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\"}"))
        .containsExactly("deviceId: \"Z\u00fcrich-\u6700\" does not match [A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}");
  }

  @Test
  void escapesControlCharactersFromTheInputInReasons() {
    // a device id with a newline and a NUL must not start a forged line in a log or in `dlq list`
    String reason = ((Decoded.Invalid) decode(
        "{\"deviceId\":\"ch-1\\nERROR forged\\u0000\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\"}")).reason();
    assertThat(reason).isEqualTo("deviceId: \"ch-1\\nERROR forged\\u0000\" does not match [A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}");
    String unknown = ((Decoded.Invalid) strict.decode("{\"a\\u202Eb\\r\":1}".getBytes(StandardCharsets.UTF_8))).reason();
    assertThat(unknown).startsWith("a\\u202Eb\\r: unknown field");
  }

  @Test
  void boundsTheReasonWhateverTheInput() {
    StringBuilder json = new StringBuilder("{");
    for (int i = 0; i < 200; i++) {
      json.append("\"field").append(i).append("\":").append(i).append(',');
    }
    json.append("\"deviceId\":\"a\",\"seq\":1,\"ts\":\"2026-11-23T12:00:00Z\"}");
    Decoded.Invalid inv = (Decoded.Invalid) strict.decode(json.toString().getBytes(StandardCharsets.UTF_8));
    assertThat(inv.errors()).hasSize(200);
    assertThat(inv.reason()).hasSizeLessThanOrEqualTo(io.iotpipe.core.Reasons.MAX_LENGTH).endsWith("\u2026")
        .startsWith("field0: unknown field");
  }
}
