package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;

/**
 * Turns readings into {@code _bulk} lines. The document id is {@code deviceId:seq} and events are written with
 * {@code create}: a redelivered reading finds its own document (a 409 the sink then checks for equal content) and a
 * different reading under an existing id can never overwrite the first one.
 */
public final class DocumentEncoder {

  private static final JsonFactory JSON = new JsonFactory();
  private static final DateTimeFormatter DAILY = DateTimeFormatter.ofPattern("yyyy.MM.dd").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter MONTHLY = DateTimeFormatter.ofPattern("yyyy.MM").withZone(ZoneOffset.UTC);
  private static final long MILLIS_PER_DAY = 86_400_000L;

  private final String prefix;
  private final IndexerConfig.IndexPeriod period;
  private final String latestIndex;
  /** Appended to every event index name: a rebuild into new indices beside the live ones ({@code iotpipe reindex}). */
  private final String suffix;
  /** The index name of the last day seen: readings come in time order, so one formatting per day instead of per doc. */
  private volatile DayIndex lastDay = new DayIndex(Long.MIN_VALUE, null);

  private record DayIndex(long epochDay, String name) {}

  public DocumentEncoder(IndexerConfig cfg) {
    this(cfg, "");
  }

  /** @param suffix appended to every event index name ("" for the live indices) */
  public DocumentEncoder(IndexerConfig cfg, String suffix) {
    this(cfg.indexPrefix(), cfg.period(), cfg.latestIndex(), suffix);
  }

  public DocumentEncoder(String prefix, IndexerConfig.IndexPeriod period, String latestIndex) {
    this(prefix, period, latestIndex, "");
  }

  private DocumentEncoder(String prefix, IndexerConfig.IndexPeriod period, String latestIndex, String suffix) {
    this.prefix = prefix;
    this.period = period;
    this.latestIndex = latestIndex;
    this.suffix = suffix;
  }

  /** The event index of a reading, by its event time (so late data lands in the right day). */
  public String indexFor(Instant ts) {
    if (period == IndexerConfig.IndexPeriod.NONE) {
      return prefix + suffix;
    }
    long day = Math.floorDiv(ts.toEpochMilli(), MILLIS_PER_DAY);
    DayIndex last = lastDay;
    if (last.epochDay() == day) {
      return last.name();
    }
    String name = prefix + "-" + (period == IndexerConfig.IndexPeriod.DAILY ? DAILY : MONTHLY).format(ts) + suffix;
    lastDay = new DayIndex(day, name);
    return name;
  }

  /** The event index of a reading: its day's, and its tenant's when it has one ({@link TenantIndices}). */
  public String indexFor(Telemetry t) {
    return TenantIndices.of(indexFor(t.ts()), t.tenant());
  }

  /** The latest-state index of a reading's device (its tenant's when it has one). */
  public String latestIndexFor(Telemetry t) {
    return TenantIndices.of(latestIndex, t.tenant());
  }

  /** A new bulk body; {@code sizeHint} bytes are allocated up front so a typical bulk never regrows its buffer. */
  public Bulk bulk(int sizeHint, long ingestMillis) {
    return new Bulk(sizeHint, DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(ingestMillis)));
  }

  /**
   * One {@code _bulk} request body being written: a single JSON generator for all its lines (creating one per line
   * costs more than the line), into a buffer that is sent as is.
   */
  public final class Bulk {
    private final Buffer out;
    private final JsonGenerator g;
    private final String ingestTs;

    private Bulk(int sizeHint, String ingestTs) {
      this.out = new Buffer(Math.max(256, sizeHint));
      this.ingestTs = ingestTs;
      try {
        this.g = JSON.createGenerator(out);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      g.setRootValueSeparator(null);
    }

    /** Appends the action and document lines creating {@code t} in its event index. */
    public void event(Telemetry t) {
      try {
        g.writeStartObject();
        g.writeObjectFieldStart("create");
        g.writeStringField("_index", indexFor(t));
        g.writeStringField("_id", t.id());
        g.writeEndObject();
        g.writeEndObject();
        g.writeRaw('\n');
        document(g, t, ingestTs);
        g.writeRaw('\n');
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /**
     * Appends the latest-state update of a device: external versioning on {@code seq} makes the engine keep the
     * highest seq, so a late or redelivered reading can never roll a charger's state back (it gets a 409, which is
     * the intended outcome).
     */
    public void latest(Telemetry t) {
      try {
        g.writeStartObject();
        g.writeObjectFieldStart("index");
        g.writeStringField("_index", TenantIndices.of(latestIndex, t.tenant()));
        g.writeStringField("_id", t.deviceId());
        g.writeNumberField("version", t.seq());
        g.writeStringField("version_type", "external");
        g.writeEndObject();
        g.writeEndObject();
        g.writeRaw('\n');
        document(g, t, ingestTs);
        g.writeRaw('\n');
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /** Finishes the body; {@link #array()} then holds {@link #length()} bytes of NDJSON. */
    public Bulk finish() {
      try {
        g.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    public byte[] array() {
      return out.array();
    }

    public int length() {
      return out.size();
    }
  }

  /** Exposes its array so the body goes to the HTTP client without the copy {@code toByteArray()} would make. */
  private static final class Buffer extends ByteArrayOutputStream {
    Buffer(int size) {
      super(size);
    }

    byte[] array() {
      return buf;
    }
  }

  /**
   * Why {@code t} cannot be encoded, or null. JSON has no NaN or infinity: written out they would make the engine
   * reject the document (or, depending on the engine, the whole bulk), so such a reading is rejected up front.
   */
  public static String unencodable(Telemetry t) {
    for (Map.Entry<String, Double> m : t.metrics().entrySet()) {
      if (m.getValue() == null || !Double.isFinite(m.getValue())) {
        return "metric " + m.getKey() + " is " + m.getValue() + ": not representable in JSON";
      }
    }
    return null;
  }

  static void document(JsonGenerator g, Telemetry t, String ingestTs) throws IOException {
    g.writeStartObject();
    g.writeStringField("ts", DateTimeFormatter.ISO_INSTANT.format(t.ts()));
    g.writeStringField("deviceId", t.deviceId());
    g.writeNumberField("seq", t.seq());
    writeOptional(g, "tenant", t.tenant());
    writeOptional(g, "site", t.site());
    writeOptional(g, "region", t.region());
    writeOptional(g, "status", t.status());
    writeOptional(g, "errorCode", t.errorCode());
    g.writeObjectFieldStart("metrics");
    for (Map.Entry<String, Double> m : t.metrics().entrySet()) {
      g.writeNumberField(m.getKey(), m.getValue());
    }
    g.writeEndObject();
    if (!t.attributes().isEmpty()) {
      g.writeObjectFieldStart("attributes");
      for (Map.Entry<String, String> a : t.attributes().entrySet()) {
        g.writeStringField(a.getKey(), a.getValue());
      }
      g.writeEndObject();
    }
    if (t.deviceTs() != null) {
      g.writeStringField("deviceTs", DateTimeFormatter.ISO_INSTANT.format(t.deviceTs()));
    }
    if (t.clockAhead()) {
      g.writeBooleanField("clockAhead", true);
    }
    g.writeStringField("ingestTs", ingestTs);
    g.writeEndObject();
  }

  private static void writeOptional(JsonGenerator g, String field, String v) throws IOException {
    if (v != null) {
      g.writeStringField(field, v);
    }
  }

  /**
   * The first canonical field in which a stored document differs from reading {@code t}, or null when they hold the
   * same reading. Compared by value (an instant, numbers as doubles), not by text, and only the reading's own fields:
   * {@code ingestTs}, {@code clockAhead} (a redelivery after the clock caught up is the same reading) and anything an
   * ingest pipeline added are not part of the reading.
   */
  public static String difference(JsonNode stored, Telemetry t) {
    if (!Objects.equals(text(stored, "deviceId"), t.deviceId())) {
      return "deviceId";
    }
    if (!stored.path("seq").canConvertToLong() || stored.path("seq").asLong() != t.seq()) {
      return "seq";
    }
    // the device's time: under contract.futureTimestamps receive-time, ts is when each delivery arrived
    String storedSent = text(stored, "deviceTs") != null ? text(stored, "deviceTs") : text(stored, "ts");
    if (!sameInstant(storedSent, t.sentTs())) {
      return t.deviceTs() != null || text(stored, "deviceTs") != null ? "deviceTs" : "ts";
    }
    for (String[] f : new String[][] {{"site", t.site()}, {"region", t.region()}, {"status", t.status()}, {"errorCode", t.errorCode()}}) {
      if (!Objects.equals(text(stored, f[0]), f[1])) {
        return f[0];
      }
    }
    JsonNode metrics = stored.path("metrics");
    int n = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = metrics.fields(); it.hasNext(); n++) {
      Map.Entry<String, JsonNode> m = it.next();
      Double mine = t.metrics().get(m.getKey());
      if (mine == null || !m.getValue().isNumber() || Double.compare(m.getValue().asDouble(), mine) != 0) {
        return "metrics." + m.getKey();
      }
    }
    if (n != t.metrics().size()) {
      return "metrics";
    }
    JsonNode attributes = stored.path("attributes");
    int a = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = attributes.fields(); it.hasNext(); a++) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual() || !e.getValue().asText().equals(t.attributes().get(e.getKey()))) {
        return "attributes." + e.getKey();
      }
    }
    if (a != t.attributes().size()) {
      return "attributes";
    }
    return null;
  }

  private static String text(JsonNode doc, String field) {
    JsonNode v = doc.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static boolean sameInstant(String stored, Instant ts) {
    if (stored == null) {
      return false;
    }
    try {
      return Instant.parse(stored).equals(ts);
    } catch (DateTimeParseException e) {
      return false;
    }
  }
}
