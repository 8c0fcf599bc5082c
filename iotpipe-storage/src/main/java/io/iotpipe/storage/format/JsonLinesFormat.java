package io.iotpipe.storage.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** JSON Lines, gzip: one row per line with the same fields as the Parquet columns, timestamps in ISO-8601 UTC. */
public final class JsonLinesFormat implements FormatWriter {

  private static final JsonFactory JSON = new JsonFactory();
  private final StoreSchema schema;

  public JsonLinesFormat(StoreSchema schema) {
    this.schema = schema;
  }

  @Override
  public String extension() {
    return "jsonl.gz";
  }

  @Override
  public long write(Path file, List<Telemetry> rows, long ingestMillis) throws IOException {
    String ingest = DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochMilli(ingestMillis));
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file), 1 << 16);
         JsonGenerator g = JSON.createGenerator(out)) {
      g.setRootValueSeparator(new com.fasterxml.jackson.core.io.SerializedString("\n"));
      for (Telemetry t : rows) {
        g.writeStartObject();
        g.writeStringField("ts", DateTimeFormatter.ISO_INSTANT.format(t.ts()));
        g.writeStringField("device_id", t.deviceId());
        g.writeNumberField("seq", t.seq());
        g.writeStringField("site", t.site());
        g.writeStringField("region", t.region());
        g.writeStringField("status", t.status());
        g.writeStringField("error_code", t.errorCode());
        for (String m : schema.metrics()) {
          Double v = t.metrics().get(m);
          if (v == null) {
            g.writeNullField(m);
          } else {
            g.writeNumberField(m, v);
          }
        }
        g.writeObjectFieldStart("extra_metrics");
        for (Map.Entry<String, Double> e : schema.extras(t).entrySet()) {
          g.writeNumberField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeStringField("ingest_ts", ingest);
        g.writeObjectFieldStart("attributes");
        for (Map.Entry<String, String> e : t.attributes().entrySet()) {
          g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeStringField("device_ts", t.deviceTs() == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.deviceTs()));
        g.writeBooleanField("clock_ahead", t.clockAhead());
        g.writeStringField("tenant", t.tenant());
        g.writeEndObject();
      }
      g.writeRaw('\n');
    }
    return Files.size(file);
  }
}
