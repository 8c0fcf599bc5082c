package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Map;

/**
 * Turns readings into {@code _bulk} lines. The document id is {@code deviceId:seq}: a redelivered or retried
 * reading overwrites its own document instead of adding a second one.
 */
public final class DocumentEncoder {

  private static final JsonFactory JSON = new JsonFactory();
  private static final DateTimeFormatter DAILY = DateTimeFormatter.ofPattern("yyyy.MM.dd").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter MONTHLY = DateTimeFormatter.ofPattern("yyyy.MM").withZone(ZoneOffset.UTC);

  private final String prefix;
  private final IndexerConfig.IndexPeriod period;
  private final String latestIndex;

  public DocumentEncoder(IndexerConfig cfg) {
    this(cfg.indexPrefix(), cfg.period(), cfg.latestIndex());
  }

  public DocumentEncoder(String prefix, IndexerConfig.IndexPeriod period, String latestIndex) {
    this.prefix = prefix;
    this.period = period;
    this.latestIndex = latestIndex;
  }

  /** The event index of a reading, by its event time (so late data lands in the right day). */
  public String indexFor(Instant ts) {
    return switch (period) {
      case DAILY -> prefix + "-" + DAILY.format(ts);
      case MONTHLY -> prefix + "-" + MONTHLY.format(ts);
      case NONE -> prefix;
    };
  }

  /** Appends the action and document lines indexing {@code t} into its event index. */
  public void appendEvent(ByteArrayOutputStream out, Telemetry t, long ingestMillis) {
    write(out, g -> {
      g.writeStartObject();
      g.writeObjectFieldStart("index");
      g.writeStringField("_index", indexFor(t.ts()));
      g.writeStringField("_id", t.id());
      g.writeEndObject();
      g.writeEndObject();
    });
    write(out, g -> document(g, t, ingestMillis));
  }

  /**
   * Appends the latest-state update of a device: external versioning on {@code seq} makes the engine keep the
   * highest seq, so a late or redelivered reading can never roll a charger's state back (it gets a 409, which is
   * the intended outcome).
   */
  public void appendLatest(ByteArrayOutputStream out, Telemetry t, long ingestMillis) {
    write(out, g -> {
      g.writeStartObject();
      g.writeObjectFieldStart("index");
      g.writeStringField("_index", latestIndex);
      g.writeStringField("_id", t.deviceId());
      g.writeNumberField("version", t.seq());
      g.writeStringField("version_type", "external");
      g.writeEndObject();
      g.writeEndObject();
    });
    write(out, g -> document(g, t, ingestMillis));
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

  static void document(JsonGenerator g, Telemetry t, long ingestMillis) throws IOException {
    g.writeStartObject();
    g.writeStringField("ts", DateTimeFormatter.ISO_INSTANT.format(t.ts()));
    g.writeStringField("deviceId", t.deviceId());
    g.writeNumberField("seq", t.seq());
    writeOptional(g, "site", t.site());
    writeOptional(g, "region", t.region());
    writeOptional(g, "status", t.status());
    writeOptional(g, "errorCode", t.errorCode());
    g.writeObjectFieldStart("metrics");
    for (Map.Entry<String, Double> m : t.metrics().entrySet()) {
      g.writeNumberField(m.getKey(), m.getValue());
    }
    g.writeEndObject();
    g.writeStringField("ingestTs", DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(ingestMillis)));
    g.writeEndObject();
  }

  private static void writeOptional(JsonGenerator g, String field, String v) throws IOException {
    if (v != null) {
      g.writeStringField(field, v);
    }
  }

  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static void write(ByteArrayOutputStream out, Body body) {
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.write('\n');
  }
}
