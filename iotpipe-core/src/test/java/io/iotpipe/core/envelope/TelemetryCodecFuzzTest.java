package io.iotpipe.core.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.Reasons;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzing the decoder: whatever arrives on a queue, {@link TelemetryCodec#decode} answers with a reading or with a
 * reject whose reason is safe to print — never an exception (which would loop the message or kill the consumer).
 */
class TelemetryCodecFuzzTest {

  private static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");
  private final TelemetryCodec codec = new TelemetryCodec(ContractLimits.DEFAULTS, Clock.fixed(NOW, ZoneOffset.UTC));

  @Property(tries = 2000)
  void arbitraryBytesGiveAReadingOrASafeReason(@ForAll @Size(max = 400) byte[] body) {
    assertDecodesSafely(body);
  }

  @Property(tries = 2000)
  void jsonLikeTextGivesAReadingOrASafeReason(@ForAll("jsonish") String text) {
    assertDecodesSafely(text.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 500)
  void jsonTreesGiveAReadingOrASafeReason(@ForAll("jsonTrees") String json) {
    assertDecodesSafely(json.getBytes(StandardCharsets.UTF_8));
  }

  @Property(tries = 1500)
  void mutatedReadingsGiveAReadingOrASafeReason(@ForAll("readings") Telemetry t, @ForAll("mutations") List<Mutation> mutations) {
    byte[] body = codec.encode(t);
    for (Mutation m : mutations) {
      body = m.apply(body);
    }
    assertDecodesSafely(body);
  }

  /** Whatever the policies, the decoder answers with a reading or a safe reason, and no reason leaks parser internals. */
  @Property(tries = 1500)
  void everyPolicyGivesAReadingOrASafeReason(@ForAll("policies") ContractLimits limits, @ForAll("readingsWithExtras") String json) {
    TelemetryCodec c = new TelemetryCodec(limits, Clock.fixed(NOW, ZoneOffset.UTC));
    Decoded d = c.decode(json.getBytes(StandardCharsets.UTF_8));
    switch (d) {
      case Decoded.Valid v -> {
        Telemetry t = v.telemetry();
        assertThat(c.decode(c.encode(t))).isEqualTo(d);
        assertThat(t.attributes().size()).isLessThanOrEqualTo(limits.maxAttributes());
        assertThat(t.attributes().entrySet().stream().mapToInt(e -> (e.getKey() + e.getValue()).getBytes(StandardCharsets.UTF_8).length).sum())
            .isLessThanOrEqualTo(limits.maxAttributeBytes());
        if (limits.unknownFields() == ContractLimits.UnknownFields.DROP) {
          assertThat(t.attributes()).isEmpty();
        }
        if (t.deviceTs() != null) {
          assertThat(limits.futureTimestamps()).isEqualTo(ContractLimits.FutureTimestamps.RECEIVE_TIME);
          assertThat(t.ts()).isEqualTo(NOW);
          assertThat(t.clockAhead()).isTrue();
        }
        if (t.clockAhead()) {
          assertThat(t.sentTs()).isAfter(NOW.plus(limits.maxFutureSkew()));
        }
      }
      case Decoded.Invalid inv -> {
        assertThat(inv.errors()).allSatisfy(TelemetryCodecFuzzTest::assertSafeReason);
        assertThat(inv.reason()).doesNotContain("Source:", "REDACTED", "StreamRead", "JsonReadFeature", "(code ", "Exception", "`");
      }
    }
  }

  /** The same reading with and without unknown fields lands as the same reading under {@code drop}. */
  @Property(tries = 300)
  void dropLandsTheSameReadingAsWithoutTheExtras(@ForAll("readings") Telemetry t, @ForAll("extras") Map<String, String> extras) {
    TelemetryCodec drop = new TelemetryCodec(ContractLimits.DEFAULTS.withUnknownFields(ContractLimits.UnknownFields.DROP),
        Clock.fixed(NOW, ZoneOffset.UTC));
    String plain = new String(drop.encode(t), StandardCharsets.UTF_8);
    StringBuilder more = new StringBuilder(plain.substring(0, plain.length() - 1));
    extras.forEach((k, v) -> more.append(",\"").append(k).append("\":").append(v));
    more.append('}');
    assertThat(drop.decode(more.toString().getBytes(StandardCharsets.UTF_8))).isEqualTo(drop.decode(plain.getBytes(StandardCharsets.UTF_8)));
  }

  @Provide
  Arbitrary<ContractLimits> policies() {
    return Combinators.combine(Arbitraries.of(ContractLimits.UnknownFields.class), Arbitraries.of(ContractLimits.FutureTimestamps.class),
            Arbitraries.integers().between(0, 5), Arbitraries.integers().between(0, 60))
        .as((u, f, n, b) -> ContractLimits.DEFAULTS.withUnknownFields(u).withFutureTimestamps(f).withAttributeBounds(n, b));
  }

  /** Extra top-level fields: names valid or not (dots, controls, the envelope's own), values of every JSON kind. */
  @Provide
  Arbitrary<Map<String, String>> extras() {
    Arbitrary<String> name = Arbitraries.oneOf(Arbitraries.of("fw", "connectorId", "a.b", "x y", "_", "attributes", "\\n", "\\u202E"),
        Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(70));
    Arbitrary<String> value = Arbitraries.oneOf(Arbitraries.of("null", "true", "1", "-2.5e3", "\"2.4.1\"", "[1,\"a\"]", "{\"k\":{\"j\":null}}",
        "\"\\u0000\\n\"", "\"最😀\""), Arbitraries.strings().alpha().ofMaxLength(40).map(x -> "\"" + x + "\""));
    return Arbitraries.maps(name.filter(n -> !Set.of("v", "deviceId", "seq", "ts", "site", "region", "status", "errorCode", "metrics").contains(n)), value)
        .ofMaxSize(6);
  }

  /** Readings with extra fields, a v2 attributes object sometimes, and times from long ago to far ahead. */
  @Provide
  Arbitrary<String> readingsWithExtras() {
    Arbitrary<String> ts = Arbitraries.longs().between(-Duration.ofDays(500).toSeconds(), Duration.ofDays(5).toSeconds())
        .map(sec -> NOW.plusSeconds(sec).toString());
    Arbitrary<String> v = Arbitraries.of("", "\"v\":1,", "\"v\":2,", "\"v\":2,\"attributes\":{\"fw\":\"3.0\",\"n\":1},",
        "\"v\":2,\"attributes\":7,", "\"v\":3,");
    return Combinators.combine(v, ts, extras()).as((ver, t, ex) -> {
      StringBuilder b = new StringBuilder("{").append(ver).append("\"deviceId\":\"evc-1\",\"seq\":1,\"ts\":\"").append(t).append('"');
      ex.forEach((k, val) -> b.append(",\"").append(k).append("\":").append(val));
      return b.append('}').toString();
    });
  }

  @Property(tries = 300)
  void aValidReadingRoundTrips(@ForAll("readings") Telemetry t) {
    assertThat(codec.decode(codec.encode(t))).isEqualTo(new Decoded.Valid(t));
  }

  /** Printable ASCII is parsed from the bytes as they are: the result must be exactly the general path's. */
  @Property(tries = 1500)
  void theAsciiFastPathDecodesAsTheGeneralPathDoes(@ForAll("asciiBodies") String text) {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    assertThat(codec.decode(body)).isEqualTo(codec.decodeText(body));
  }

  /** The hand-read timestamp form gives the JDK's instant, and leaves to the JDK whatever it does not read. */
  @Property(tries = 3000)
  void timestampsAreReadAsTheJdkReadsThem(@ForAll("timestamps") String ts) {
    Instant fast = TelemetryCodec.parseCanonicalUtc(ts);
    Instant jdk;
    try {
      jdk = java.time.OffsetDateTime.parse(ts).toInstant();
    } catch (java.time.format.DateTimeParseException e) {
      jdk = null;
    }
    if (fast != null) {
      assertThat(fast).as(ts).isEqualTo(jdk);
    }
    if (jdk != null) {
      assertThat(TelemetryCodec.parseTimestamp(ts)).as(ts).isEqualTo(jdk);
    }
  }

  @Provide
  Arbitrary<String> asciiBodies() {
    Arbitrary<String> valid = readings().map(t -> new String(codec.encode(t), StandardCharsets.UTF_8));
    Arbitrary<String> printable = Arbitraries.strings().withCharRange(' ', '~').withChars('\t', '\n', '\r').ofMaxLength(80);
    return Arbitraries.oneOf(valid, jsonTrees().map(TelemetryCodecFuzzTest::ascii), jsonish().map(TelemetryCodecFuzzTest::ascii),
        printable, Combinators.combine(valid, printable, Arbitraries.integers().between(0, 200))
            .as((v, junk, at) -> v.substring(0, Math.min(at, v.length())) + junk + v.substring(Math.min(at, v.length()))));
  }

  /** The same text with every character outside printable ASCII and JSON whitespace replaced by '?'. */
  private static String ascii(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.chars().forEach(c -> b.append(c >= 0x20 && c < 0x7F || c == '\t' || c == '\n' || c == '\r' ? (char) c : '?'));
    return b.toString();
  }

  /** Mostly the canonical form with fields in and out of range, plus offsets, lower case, short and long fractions. */
  @Provide
  Arbitrary<String> timestamps() {
    Arbitrary<String> canonical = Combinators.combine(
        Arbitraries.integers().between(0, 9999), Arbitraries.integers().between(0, 14), Arbitraries.integers().between(0, 32),
        Arbitraries.integers().between(0, 25), Arbitraries.integers().between(0, 61), Arbitraries.integers().between(0, 61),
        Arbitraries.strings().numeric().ofMaxLength(11),
        Arbitraries.of("Z", "Z", "Z", "z", "+00:00", "+01:00", "-05:30", "", "+14:00", "Z "))
        .as((y, mo, d, h, mi, se, frac, off) -> String.format(java.util.Locale.ROOT, "%04d-%02d-%02dT%02d:%02d:%02d%s%s",
            y, mo, d, h, mi, se, frac.isEmpty() ? "" : "." + frac, off));
    Arbitrary<String> mangled = Combinators.combine(canonical, Arbitraries.integers().between(0, 29),
        Arbitraries.chars().with('-', ':', 'T', 't', '.', ' ', '0', '9', 'x', '+'))
        .as((c, at, ch) -> at < c.length() ? c.substring(0, at) + ch + c.substring(at + 1) : c);
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, canonical), net.jqwik.api.Tuple.of(3, mangled),
        net.jqwik.api.Tuple.of(1, Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(32)));
  }

  private void assertDecodesSafely(byte[] body) {
    Decoded d = codec.decode(body); // an exception fails the property
    switch (d) {
      case Decoded.Valid v -> // whatever was accepted is a sound reading: it survives our own encoding unchanged
          assertThat(codec.decode(codec.encode(v.telemetry()))).isEqualTo(d);
      case Decoded.Invalid inv -> {
        assertThat(inv.errors()).isNotEmpty().allSatisfy(TelemetryCodecFuzzTest::assertSafeReason);
        assertSafeReason(inv.reason());
        // what is wrong with the body is said in plain words, never with the parser's internals
        assertThat(inv.errors()).filteredOn(e -> e.startsWith("body"))
            .allSatisfy(e -> assertThat(e).doesNotContain("Source:", "REDACTED", "StreamRead", "JsonReadFeature", "(code "));
      }
    }
  }

  private static void assertSafeReason(String reason) {
    assertThat(reason).isNotBlank().hasSizeLessThanOrEqualTo(Reasons.MAX_LENGTH);
    assertThat(reason.chars()).as("raw control or invisible characters in %s", reason)
        .noneMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
            || Character.getType(c) == Character.LINE_SEPARATOR || Character.getType(c) == Character.PARAGRAPH_SEPARATOR);
    assertThat(reason.codePoints()).noneMatch(cp -> Character.getType(cp) == Character.SURROGATE);
  }

  @Provide
  Arbitrary<String> jsonish() {
    Arbitrary<String> tokens = Arbitraries.oneOf(
        Arbitraries.of("{", "}", "[", "]", ":", ",", "\"", "\\", "\\u0000", "\\ud800", "\\n", " ", "\n", "\u0000", "\t",
            "true", "false", "null", "-", "0", "1.5e308", "1e400", "-9223372036854775809", "99999999999999999999",
            "\"deviceId\"", "\"seq\"", "\"ts\"", "\"metrics\"", "\"v\"", "\"2026-11-23T12:00:00Z\"", "\"a\"", "\uFEFF",
            "\u202E", "\u2028", "最", "😀"),
        Arbitraries.strings().ofMaxLength(8),
        Arbitraries.integers().map(String::valueOf));
    return tokens.list().ofMaxSize(60).map(l -> String.join("", l));
  }

  /** Well-formed JSON objects whose keys are mostly the envelope's fields, with values of any type and shape. */
  @Provide
  Arbitrary<String> jsonTrees() {
    Arbitrary<String> key = Arbitraries.oneOf(
        Arbitraries.of("v", "deviceId", "seq", "ts", "site", "region", "status", "errorCode", "metrics"),
        Arbitraries.strings().ofMaxLength(12));
    Arbitrary<Object> scalar = Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(20), Arbitraries.strings().alpha().numeric().ofMaxLength(12),
        Arbitraries.longs(), Arbitraries.doubles(), Arbitraries.bigIntegers().between(
            BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30)),
        Arbitraries.of(true, false, 1, 0, -1, Long.MAX_VALUE, Double.NaN, Double.POSITIVE_INFINITY, 1e16, 1.5),
        Arbitraries.of("2026-11-23T12:00:00Z", "2026-11-23T12:00:00+01:00", "2026-11-23", "ch-1", "").map(Object.class::cast),
        Arbitraries.just(null));
    Arbitrary<Object> value = Arbitraries.recursive(() -> scalar,
        inner -> Arbitraries.oneOf(inner.list().ofMaxSize(3).map(Object.class::cast),
            Arbitraries.maps(key, inner).ofMaxSize(4).map(Object.class::cast)), 0, 3);
    ObjectMapper json = new ObjectMapper();
    return Arbitraries.maps(key, value).ofMaxSize(10).map(m -> {
      try {
        return json.writeValueAsString(m);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Provide
  Arbitrary<Telemetry> readings() {
    Arbitrary<String> id = Combinators.combine(
        Arbitraries.strings().withCharRange('a', 'z').withCharRange('A', 'Z').withCharRange('0', '9').ofLength(1),
        Arbitraries.strings().withCharRange('a', 'z').withCharRange('0', '9').withChars("._:-").ofMaxLength(127))
        .as(String::concat);
    Arbitrary<String> keyword = Combinators.combine(
        Arbitraries.strings().withCharRange('A', 'Z').withCharRange('0', '9').ofLength(1),
        Arbitraries.strings().withCharRange('a', 'z').withCharRange('A', 'Z').withChars("._:- ").ofMaxLength(63))
        .as(String::concat).injectNull(0.3);
    Arbitrary<String> metricName = Combinators.combine(
        Arbitraries.strings().withCharRange('a', 'z').ofLength(1),
        Arbitraries.strings().withCharRange('a', 'z').withCharRange('A', 'Z').withChars("_0123456789").ofMaxLength(63))
        .as(String::concat);
    Arbitrary<Double> value = Arbitraries.oneOf(Arbitraries.doubles().between(-1e15, 1e15),
        Arbitraries.of(0.0, -0.0, 1e-300, Double.MIN_VALUE, 1e15, -1e15));
    Arbitrary<Map<String, Double>> metrics = Arbitraries.maps(metricName, value).ofMaxSize(ContractLimits.DEFAULTS.maxMetrics());
    // within the accepted window: up to 400 days old, up to 10 minutes ahead, any sub-second precision
    Arbitrary<Instant> ts = Arbitraries.longs().between(-Duration.ofDays(400).toNanos() + 1, Duration.ofMinutes(10).toNanos())
        .map(NOW::plusNanos);
    return Combinators.combine(id, Arbitraries.longs().between(1, Long.MAX_VALUE), ts, keyword, keyword, keyword, keyword, metrics)
        .as(Telemetry::new);
  }

  /** One change to a body: what a flaky link, a buggy device firmware or an attacker would do to it. */
  interface Mutation {
    byte[] apply(byte[] body);
  }

  @Provide
  Arbitrary<List<Mutation>> mutations() {
    Arbitrary<Integer> where = Arbitraries.integers().between(0, Integer.MAX_VALUE);
    Arbitrary<Mutation> flip = Combinators.combine(where, Arbitraries.integers().between(1, 255))
        .as((at, bits) -> b -> {
          if (b.length == 0) {
            return b;
          }
          byte[] c = b.clone();
          c[at % c.length] ^= bits.byteValue();
          return c;
        });
    Arbitrary<Mutation> truncate = where.map(at -> b -> Arrays.copyOf(b, b.length == 0 ? 0 : at % b.length));
    Arbitrary<byte[]> snippet = Arbitraries.oneOf(
        Arbitraries.of("\u0000", "\n", "\r\n", "\"seq\":2,", "\"deviceId\":\"x\",", "\"ts\":null,", "\\u0000", "\\", "\"",
            "{", "}", ",", "\uFEFF", "\u202E", "\"x\\n\\u0000y\":1,").map(s -> s.getBytes(StandardCharsets.UTF_8)),
        Arbitraries.of(new byte[] {(byte) 0xFF, (byte) 0xFE}, new byte[] {(byte) 0xC3}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
            new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, new byte[] {(byte) 0xC0, (byte) 0xAF}),
        Arbitraries.integers().between(1, 6000).map(n -> ("1" + "0".repeat(n)).getBytes(StandardCharsets.US_ASCII)),
        Arbitraries.integers().between(1, 5000).map(n -> ("[".repeat(n) + "]".repeat(n)).getBytes(StandardCharsets.US_ASCII)),
        Arbitraries.integers().between(1, 2000).map(n -> ("{\"a\":".repeat(n) + "1" + "}".repeat(n)).getBytes(StandardCharsets.US_ASCII)),
        Arbitraries.of("1e99999", "-1e-99999", "1.7976931348623157e309", "NaN", "Infinity", "-0", "0x10", "01")
            .map(s -> s.getBytes(StandardCharsets.US_ASCII)),
        Arbitraries.bytes().array(byte[].class).ofMaxSize(16));
    Arbitrary<Mutation> insert = Combinators.combine(where, snippet).as((at, s) -> b -> {
      int k = b.length == 0 ? 0 : at % (b.length + 1);
      ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + s.length);
      out.write(b, 0, k);
      out.write(s, 0, s.length);
      out.write(b, k, b.length - k);
      return out.toByteArray();
    });
    // replace a whole value (the bytes after a ':' up to the next ',' or '}') by a snippet
    Arbitrary<Mutation> replace = Combinators.combine(where, snippet).as((at, s) -> b -> {
      String text = new String(b, StandardCharsets.ISO_8859_1); // byte-preserving view
      int colon = text.indexOf(':', b.length == 0 ? 0 : at % b.length);
      if (colon < 0) {
        return b;
      }
      int end = colon + 1;
      while (end < b.length && b[end] != ',' && b[end] != '}') {
        end++;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(b, 0, colon + 1);
      out.write(s, 0, s.length);
      out.write(b, end, b.length - end);
      return out.toByteArray();
    });
    return Arbitraries.oneOf(flip, truncate, insert, replace).list().ofMinSize(1).ofMaxSize(4);
  }
}
