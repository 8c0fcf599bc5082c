package io.iotpipe.core.envelope;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.iotpipe.core.Reasons;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Encodes and decodes the JSON telemetry envelope.
 *
 * <p>{@link #decode} never throws: every problem (bad JSON, invalid UTF-8, missing or mistyped fields, absurd values)
 * is returned as {@link Decoded.Invalid} with one message per field, because the caller is a queue consumer that
 * must route the message to the dead-letter queue with a reason instead of crashing or looping on it.
 *
 * <p>Thread-safe.
 */
public final class TelemetryCodec {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:\\-]{0,127}");
  private static final Pattern KEYWORD = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:\\- ]{0,63}");
  private static final Pattern METRIC = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,63}");
  /** A name every sink can store as a key: no dots (a path separator in search engines), no spaces, no quotes. */
  private static final Pattern ATTRIBUTE = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]{0,63}");
  private static final Set<String> FIELDS = Set.of("v", "deviceId", "seq", "ts", "site", "region", "status", "errorCode", "metrics");
  /** Envelope v2 reserves this object for vendor fields (see the README's envelope section). */
  private static final String ATTRIBUTES = "attributes";

  private final ContractLimits limits;
  private final Clock clock;
  private final ContractEvents events;
  private final ObjectMapper mapper;
  private final JsonFactory factory;

  public TelemetryCodec() {
    this(ContractLimits.DEFAULTS, Clock.systemUTC());
  }

  public TelemetryCodec(ContractLimits limits, Clock clock) {
    this(limits, clock, ContractEvents.NONE);
  }

  /**
   * @param clock  the receiver's clock: decoding happens as a sink receives a delivery, so its {@code instant()} is
   *               the receive time the future-timestamp policy compares with (and substitutes under
   *               {@code receive-time})
   * @param events told of every contract decision (metrics)
   */
  public TelemetryCodec(ContractLimits limits, Clock clock, ContractEvents events) {
    this.limits = limits;
    this.clock = clock;
    this.events = events;
    // Duplicate keys are ambiguous ("which seq is right?"): reject them rather than silently keep the last one.
    this.mapper = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    this.factory = mapper.getFactory();
  }

  public ContractLimits limits() {
    return limits;
  }

  /** Decodes and validates one message body. Never throws. */
  public Decoded decode(byte[] body) {
    if (body != null && body.length > 0 && body.length <= limits.maxBytes() && printableAscii(body)) {
      // The common case, parsed from the bytes as they are (a third of the decode's CPU was turning them into chars):
      // printable ASCII is UTF-8, has no byte order mark and no NUL, so Jackson's encoding guess can only say UTF-8.
      // A body that is not valid JSON takes the path below, which words the reason.
      try (JsonParser p = factory.createParser(body)) {
        JsonNode root = mapper.readTree(p);
        if (root != null && root.isObject() && p.nextToken() == null) {
          return validate(root);
        }
      } catch (IOException | RuntimeException e) {
        // worded below
      }
    }
    return decodeText(body);
  }

  /** The general path: strict UTF-8, then JSON, with a reason for whatever is wrong. */
  Decoded decodeText(byte[] body) {
    if (body == null || body.length == 0) {
      return invalid("body: empty message");
    }
    if (body.length > limits.maxBytes()) {
      return invalid("body: " + body.length + " bytes exceeds contract.maxBytes (" + limits.maxBytes() + " bytes)");
    }
    // Decode strictly as UTF-8 first and hand Jackson characters, not bytes: given bytes, Jackson guesses the encoding
    // (a leading FF FE becomes UTF-16, "{\0" too) and would accept or misreport what is simply not UTF-8.
    CharBuffer chars = CharBuffer.allocate(body.length); // UTF-8 never yields more chars than bytes
    ByteBuffer in = ByteBuffer.wrap(body);
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder(); // reports malformed input; per call: it is stateful
    CoderResult cr = utf8.decode(in, chars, true);
    if (!cr.isError()) {
      cr = utf8.flush(chars);
    }
    if (cr.isError()) {
      return invalid(notUtf8(body, in.position()));
    }
    int start = 0;
    int end = chars.position();
    char[] text = chars.array();
    if (text[0] == '\uFEFF') {
      start = 1; // a UTF-8 byte order mark: RFC 8259 lets a parser ignore it, as Jackson did for bytes before
    }
    JsonNode root;
    try (JsonParser p = factory.createParser(text, start, end - start)) {
      root = mapper.readTree(p);
      if (p.nextToken() != null) {
        return invalid("body: trailing content after the JSON object");
      }
    } catch (JsonProcessingException e) {
      return invalid(JsonProblems.describe(e) + nulHint(text, start, end));
    } catch (IOException | RuntimeException e) {
      // not expected from a parser reading a char array; worded without the exception's internals all the same
      return invalid("body is not readable as JSON (" + e.getClass().getSimpleName() + ")");
    }
    if (root == null || !root.isObject()) {
      return invalid("body: expected a JSON object");
    }
    return validate(root);
  }

  /** True when every byte is printable ASCII or JSON whitespace (tab, line feed, carriage return). */
  static boolean printableAscii(byte[] body) {
    for (byte b : body) {
      if (b < 0x20 ? b != '\t' && b != '\n' && b != '\r' : b == 0x7F) {
        return false;
      }
    }
    return true;
  }

  private static String notUtf8(byte[] body, int offset) {
    String hint = "";
    if (body.length >= 2 && (body[0] == (byte) 0xFF && body[1] == (byte) 0xFE || body[0] == (byte) 0xFE && body[1] == (byte) 0xFF)) {
      hint = "; it starts with a UTF-16 byte order mark";
    }
    return String.format("body: not valid UTF-8 (byte 0x%02X at offset %d%s): send the JSON encoded as UTF-8",
        body[offset] & 0xFF, offset, hint);
  }

  /** A raw NUL is never valid JSON; next to a JSON error it most likely means UTF-16 or UTF-32 was sent. */
  private static String nulHint(char[] text, int start, int end) {
    for (int i = start; i < end; i++) {
      if (text[i] == 0) {
        return "; the body holds NUL bytes: UTF-16 or UTF-32? send the JSON encoded as UTF-8";
      }
    }
    return "";
  }

  private Decoded validate(JsonNode root) {
    List<String> errors = new ArrayList<>();
    int version = version(root.get("v"), errors);
    Fields extra = new Fields();
    if (version >= 2) {
      attributesObject(root.get(ATTRIBUTES), extra, errors);
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = f.getKey();
      if (FIELDS.contains(name) || version >= 2 && name.equals(ATTRIBUTES)) {
        continue;
      }
      switch (limits.unknownFields()) {
        case REJECT -> {
          errors.add(Reasons.sanitize(name, 40) + ": unknown field (allowed: " + String.join(", ", FIELDS.stream().sorted().toList())
              + "; contract.unknownFields is reject)");
          extra.decide(name, ContractEvents.FieldDecision.REJECTED);
        }
        case DROP -> extra.decide(name, ContractEvents.FieldDecision.DROPPED);
        case KEEP -> extra.keep(name, f.getValue());
      }
    }
    String deviceId = text(root, "deviceId", ID, true, errors);
    long seq = 0;
    JsonNode s = root.get("seq");
    if (s == null || s.isNull()) {
      errors.add("seq: required");
    } else if (!s.isIntegralNumber() || !s.canConvertToLong()) {
      errors.add("seq: must be an integer, was " + describe(s));
    } else if (s.asLong() < 1) {
      errors.add("seq: must be >= 1, was " + s.asLong());
    } else {
      seq = s.asLong();
    }
    Instant sent = timestamp(root.get("ts"), errors);
    Instant ts = sent;
    Instant deviceTs = null;
    ContractEvents.FutureDecision ahead = null;
    if (sent != null) {
      Instant now = clock.instant();
      if (sent.isAfter(now.plus(limits.maxFutureSkew()))) {
        switch (limits.futureTimestamps()) {
          case REJECT -> {
            errors.add("ts: " + sent + " is more than contract.maxFutureSkew (" + io.iotpipe.core.config.ConfigUnits.formatDuration(limits.maxFutureSkew())
                + ") ahead of the receiver's clock (" + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + ")");
            ahead = ContractEvents.FutureDecision.REJECTED;
          }
          case KEEP -> ahead = ContractEvents.FutureDecision.KEPT;
          case RECEIVE_TIME -> {
            // millisecond precision: what both sinks store, so they hold the same instant
            ts = now.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            deviceTs = sent;
            ahead = ContractEvents.FutureDecision.RECEIVE_TIME;
          }
        }
      } else if (sent.isBefore(now.minus(limits.maxAge()))) {
        errors.add("ts: " + sent + " is older than contract.maxAge (" + io.iotpipe.core.config.ConfigUnits.formatDuration(limits.maxAge()) + ")");
      }
    }
    String site = text(root, "site", KEYWORD, false, errors);
    String region = text(root, "region", KEYWORD, false, errors);
    String status = text(root, "status", KEYWORD, false, errors);
    String errorCode = text(root, "errorCode", KEYWORD, false, errors);
    Map<String, Double> metrics = metrics(root.get("metrics"), errors);
    boolean valid = errors.isEmpty();
    extra.report(valid);
    if (ahead != null && (valid || ahead == ContractEvents.FutureDecision.REJECTED)) {
      events.futureTimestamp(ahead);
    }
    if (!valid) {
      return new Decoded.Invalid(errors);
    }
    events.envelope(version);
    return new Decoded.Valid(new Telemetry(deviceId, seq, ts, site, region, status, errorCode, metrics, extra.kept,
        deviceTs, ahead != null));
  }

  /** The envelope version: absent means 1; 1 and 2 are read, anything else is an error (see the README). */
  private static int version(JsonNode v, List<String> errors) {
    if (v == null || v.isNull()) {
      return Telemetry.VERSION;
    }
    if (v.canConvertToExactIntegral() && v.canConvertToInt() && v.asInt() >= 1 && v.asInt() <= Telemetry.NEWEST_VERSION) {
      return v.asInt();
    }
    String hint = v.canConvertToExactIntegral() && v.canConvertToLong() && v.asLong() > Telemetry.NEWEST_VERSION
        ? ": a newer envelope than this reader understands; upgrade the sinks, then replay the dead letters" : "";
    errors.add("v: unsupported envelope version " + describe(v) + " (this reader knows 1 and 2" + hint + ")");
    return Telemetry.VERSION;
  }

  /** The {@code attributes} object of a v2 envelope: declared vendor fields, so kept unless the policy drops extras. */
  private void attributesObject(JsonNode a, Fields extra, List<String> errors) {
    if (a == null || a.isNull()) {
      return;
    }
    if (!a.isObject()) {
      errors.add("attributes: must be an object (envelope v2), was " + describe(a));
      return;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = a.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (limits.unknownFields() == ContractLimits.UnknownFields.DROP) {
        extra.decide(e.getKey(), ContractEvents.FieldDecision.DROPPED);
      } else {
        extra.keep(e.getKey(), e.getValue());
      }
    }
  }

  /** The unknown fields of one reading: those kept within the bounds, and every decision, reported once it is known whether the reading lands. */
  private final class Fields {
    final Map<String, String> kept = new LinkedHashMap<>();
    private int bytes;
    private List<Object[]> decisions;

    void keep(String name, JsonNode value) {
      if (!ATTRIBUTE.matcher(name).matches()) {
        decide(name, ContractEvents.FieldDecision.INVALID_NAME);
        return;
      }
      if (value.isNull()) {
        // null says "no value", as for the envelope's optional fields: nothing to keep
        decide(name, ContractEvents.FieldDecision.DROPPED);
        return;
      }
      String text = value.isTextual() ? value.asText() : value.toString();
      int size = utf8Length(name) + utf8Length(text);
      if (kept.containsKey(name) || kept.size() >= limits.maxAttributes() || bytes + size > limits.maxAttributeBytes()) {
        decide(name, ContractEvents.FieldDecision.OVER_LIMIT);
        return;
      }
      kept.put(name, text);
      bytes += size;
      decide(name, ContractEvents.FieldDecision.KEPT);
    }

    void decide(String name, ContractEvents.FieldDecision d) {
      if (decisions == null) {
        decisions = new ArrayList<>(4);
      }
      decisions.add(new Object[] {ATTRIBUTE.matcher(name).matches() ? name : null, d});
    }

    void report(boolean landed) {
      if (decisions == null) {
        return;
      }
      for (Object[] d : decisions) {
        ContractEvents.FieldDecision decision = (ContractEvents.FieldDecision) d[1];
        if (landed || decision == ContractEvents.FieldDecision.REJECTED) {
          events.unknownField((String) d[0], decision);
        }
      }
    }
  }

  private static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a surrogate pair: 4 bytes, 2 per half
    }
    return n;
  }

  /** The instant of a well-formed {@code ts}, or null with the error recorded; time bounds are checked by the caller. */
  private static Instant timestamp(JsonNode t, List<String> errors) {
    if (t == null || t.isNull()) {
      errors.add("ts: required (ISO-8601 with offset, e.g. 2026-11-23T08:15:30.123Z)");
      return null;
    }
    if (!t.isTextual()) {
      errors.add("ts: must be an ISO-8601 string with offset, was " + describe(t));
      return null;
    }
    try {
      return parseTimestamp(t.asText());
    } catch (DateTimeParseException e) {
      errors.add("ts: not an ISO-8601 date-time with offset: " + Reasons.quote(t.asText(), 40));
      return null;
    }
  }

  /**
   * ISO-8601 date-time with offset, as {@link OffsetDateTime#parse}. The form devices send ({@code
   * 2026-11-23T08:15:30.123Z}: four-digit year, upper-case T and Z, up to nine fraction digits) is read by hand — the
   * JDK's formatter was a tenth of a sink's CPU; every other form, and every invalid field, goes to the JDK's parser,
   * so results and errors are the JDK's (a property test compares both on generated timestamps).
   */
  static Instant parseTimestamp(String s) {
    Instant fast = parseCanonicalUtc(s);
    return fast != null ? fast : OffsetDateTime.parse(s).toInstant();
  }

  /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} when every field is in range, else null. */
  static Instant parseCanonicalUtc(String s) {
    int n = s.length();
    if (n < 20 || n > 30 || s.charAt(n - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
        || s.charAt(13) != ':' || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    int nano = 0;
    if (n > 20) {
      int fraction = n - 21; // between the '.' at 19 and the 'Z'
      if (s.charAt(19) != '.' || fraction < 1 || fraction > 9) {
        return null;
      }
      int f = digits(s, 20, fraction);
      if (f < 0) {
        return null;
      }
      nano = f;
      for (int i = fraction; i < 9; i++) {
        nano *= 10;
      }
    } else if (s.charAt(19) != 'Z') {
      return null;
    }
    if ((year | month | day | hour | minute | second) < 0 || month < 1 || month > 12 || day < 1
        || day > java.time.YearMonth.of(year, month).lengthOfMonth() || hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    return java.time.LocalDateTime.of(year, month, day, hour, minute, second, nano).toInstant(java.time.ZoneOffset.UTC);
  }

  /** The decimal value of {@code len} ASCII digits at {@code from}, or -1 when one is not a digit. */
  private static int digits(String s, int from, int len) {
    int v = 0;
    for (int i = from; i < from + len; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private Map<String, Double> metrics(JsonNode m, List<String> errors) {
    if (m == null || m.isNull()) {
      return Map.of();
    }
    if (!m.isObject()) {
      errors.add("metrics: must be an object of numbers, was " + describe(m));
      return Map.of();
    }
    if (m.size() > limits.maxMetrics()) {
      errors.add("metrics: " + m.size() + " entries exceed contract.maxMetrics (" + limits.maxMetrics() + ")");
      return Map.of();
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
      var e = it.next();
      String name = e.getKey();
      JsonNode val = e.getValue();
      if (!METRIC.matcher(name).matches()) {
        errors.add("metrics." + Reasons.quote(name, 40) + ": invalid metric name (letters, digits, underscore; max 64)");
      } else if (!val.isNumber()) {
        errors.add("metrics." + name + ": must be a number, was " + describe(val));
      } else {
        double d = val.asDouble();
        if (!Double.isFinite(d) || Math.abs(d) > 1e15) {
          errors.add("metrics." + name + ": value out of range: " + Reasons.sanitize(val.toString(), 40));
        } else {
          out.put(name, d);
        }
      }
    }
    return out;
  }

  private static String text(JsonNode root, String field, Pattern shape, boolean required, List<String> errors) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      if (required) {
        errors.add(field + ": required");
      }
      return null;
    }
    if (!n.isTextual()) {
      errors.add(field + ": must be a string, was " + describe(n));
      return null;
    }
    String s = n.asText();
    if (!shape.matcher(s).matches()) {
      errors.add(field + ": " + Reasons.quote(s, 40) + " does not match " + shape.pattern());
      return null;
    }
    return s;
  }

  private static String describe(JsonNode n) {
    return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + Reasons.sanitize(n.toString(), 40);
  }

  private static Decoded invalid(String error) {
    return new Decoded.Invalid(List.of(error));
  }

  /**
   * Encodes a reading as the canonical JSON envelope: version 1, or version 2 with an {@code attributes} object when
   * the reading has attributes. {@code ts} is the device's time ({@link Telemetry#sentTs()}): what the receiver did
   * about a clock running ahead is the receiver's business, not the envelope's.
   */
  public byte[] encode(Telemetry t) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = factory.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("v", t.attributes().isEmpty() ? Telemetry.VERSION : 2);
      g.writeStringField("deviceId", t.deviceId());
      g.writeNumberField("seq", t.seq());
      g.writeStringField("ts", t.sentTs().toString());
      writeOptional(g, "site", t.site());
      writeOptional(g, "region", t.region());
      writeOptional(g, "status", t.status());
      writeOptional(g, "errorCode", t.errorCode());
      g.writeObjectFieldStart("metrics");
      for (var e : t.metrics().entrySet()) {
        g.writeNumberField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
      if (!t.attributes().isEmpty()) {
        g.writeObjectFieldStart(ATTRIBUTES);
        for (var e : t.attributes().entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void writeOptional(JsonGenerator g, String name, String value) throws IOException {
    if (value != null) {
      g.writeStringField(name, value);
    }
  }
}
