package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig.IndexPeriod;
import io.iotpipe.core.envelope.Telemetry;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DocumentEncoderTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Telemetry READING = new Telemetry("cp-17", 42, Instant.parse("2026-03-31T23:59:59.250Z"), "park-3", "eu-west",
      "FAULTED", "E042", Map.of("powerKw", 11.5, "energyKwh", 1234.0));

  static String[] lines(DocumentEncoder.Bulk bulk) {
    String body = new String(bulk.finish().array(), 0, bulk.length(), StandardCharsets.UTF_8);
    assertThat(body).as("NDJSON: every line ends with a newline").endsWith("\n");
    return body.split("\n");
  }

  static DocumentEncoder.Bulk bulk(long ingestMillis) {
    return new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").bulk(16, ingestMillis);
  }

  @Test
  void indexIsChosenByEventTimeInUtc() {
    Instant ts = Instant.parse("2026-03-31T23:59:59Z");
    assertThat(new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").indexFor(ts)).isEqualTo("ev-2026.03.31");
    assertThat(new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").indexFor(ts.plusSeconds(1))).isEqualTo("ev-2026.04.01");
    assertThat(new DocumentEncoder("ev", IndexPeriod.MONTHLY, "ev-latest").indexFor(ts)).isEqualTo("ev-2026.03");
    assertThat(new DocumentEncoder("ev", IndexPeriod.NONE, "ev-latest").indexFor(ts)).isEqualTo("ev");
  }

  @Test
  void eventLinesCarryADeterministicIdAndTheFullDocument() throws Exception {
    DocumentEncoder.Bulk out = bulk(Instant.parse("2026-04-01T00:00:01Z").toEpochMilli());
    out.event(READING);
    String[] l = lines(out);
    assertThat(l).hasSize(2);
    // create, not index: a second reading under the same id must not overwrite the first.
    JsonNode action = JSON.readTree(l[0]).path("create");
    assertThat(action.path("_index").asText()).isEqualTo("ev-2026.03.31");
    assertThat(action.path("_id").asText()).isEqualTo("cp-17:42");
    assertThat(action.has("version")).isFalse();
    JsonNode doc = JSON.readTree(l[1]);
    assertThat(doc.path("ts").asText()).isEqualTo("2026-03-31T23:59:59.250Z");
    assertThat(doc.path("ingestTs").asText()).isEqualTo("2026-04-01T00:00:01Z");
    assertThat(doc.path("deviceId").asText()).isEqualTo("cp-17");
    assertThat(doc.path("seq").isIntegralNumber()).isTrue();
    assertThat(doc.path("seq").asLong()).isEqualTo(42);
    assertThat(doc.path("site").asText()).isEqualTo("park-3");
    assertThat(doc.path("region").asText()).isEqualTo("eu-west");
    assertThat(doc.path("status").asText()).isEqualTo("FAULTED");
    assertThat(doc.path("errorCode").asText()).isEqualTo("E042");
    assertThat(doc.path("metrics").path("powerKw").isNumber()).isTrue();
    assertThat(doc.path("metrics").path("powerKw").asDouble()).isEqualTo(11.5);
    assertThat(doc.path("metrics").path("energyKwh").asDouble()).isEqualTo(1234.0);
  }

  @Test
  void absentOptionalFieldsAreLeftOutRatherThanWrittenAsNull() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    out.event(new Telemetry("d", 1, Instant.EPOCH, null, null, "IDLE", null, Map.of()));
    JsonNode doc = JSON.readTree(lines(out)[1]);
    assertThat(doc.has("errorCode")).isFalse();
    assertThat(doc.has("site")).isFalse();
    assertThat(doc.path("metrics").isObject()).isTrue();
    assertThat(doc.path("metrics").size()).isZero();
  }

  @Test
  void latestStateIsOneDocumentPerDeviceVersionedExternallyBySeq() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    out.latest(READING);
    String[] l = lines(out);
    JsonNode action = JSON.readTree(l[0]).path("index");
    assertThat(action.path("_index").asText()).isEqualTo("ev-latest");
    assertThat(action.path("_id").asText()).isEqualTo("cp-17");
    assertThat(action.path("version").asLong()).isEqualTo(42);
    assertThat(action.path("version_type").asText()).isEqualTo("external");
    assertThat(JSON.readTree(l[1]).path("seq").asLong()).isEqualTo(42);
  }

  @Test
  void nonFiniteMetricsAreNamedAsUnencodable() {
    Map<String, Double> m = new HashMap<>();
    m.put("powerKw", Double.NaN);
    assertThat(DocumentEncoder.unencodable(new Telemetry("d", 1, Instant.EPOCH, null, null, null, null, m)))
        .contains("powerKw").contains("NaN");
    assertThat(DocumentEncoder.unencodable(READING)).isNull();
  }

  @Test
  void aBulkGrowsPastItsSizeHintAndKeepsEveryLine() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    for (int i = 1; i <= 500; i++) {
      out.event(new Telemetry("d", i, Instant.EPOCH.plusSeconds(i * 600L), null, null, "IDLE", null, Map.of("x", (double) i)));
    }
    String[] l = lines(out);
    assertThat(l).hasSize(1000);
    assertThat(JSON.readTree(l[999]).path("seq").asLong()).isEqualTo(500);
    assertThat(JSON.readTree(l[998]).path("create").path("_index").asText()).isEqualTo("ev-1970.01.04");
  }

  @Test
  void theStoredDocumentIsTheSameReadingWhateverTheIngestTimeAndTextForm() throws Exception {
    DocumentEncoder.Bulk out = bulk(123_456_789L);
    out.event(READING);
    JsonNode stored = JSON.readTree(lines(out)[1]);
    assertThat(DocumentEncoder.difference(stored, READING)).isNull();
    // Another writer's text forms of the same values, an ingest-time field and extra fields: still the same reading.
    JsonNode other = JSON.readTree("""
        {"ts":"2026-03-31T23:59:59.25Z","deviceId":"cp-17","seq":42,"site":"park-3","region":"eu-west","status":"FAULTED",
         "errorCode":"E042","metrics":{"energyKwh":1234,"powerKw":11.50},"ingestTs":"2030-01-01T00:00:00Z","geo":"x"}""");
    assertThat(DocumentEncoder.difference(other, READING)).isNull();
  }

  @Test
  void anyDifferenceInTheReadingIsNamed() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    out.event(READING);
    ObjectNode doc = (ObjectNode) JSON.readTree(lines(out)[1]);
    Map<String, java.util.function.Consumer<ObjectNode>> edits = new java.util.LinkedHashMap<>();
    edits.put("metrics.powerKw", d -> ((ObjectNode) d.get("metrics")).put("powerKw", 11.6));
    edits.put("status", d -> d.put("status", "CHARGING"));
    edits.put("errorCode", d -> d.remove("errorCode"));
    edits.put("site", d -> d.put("site", "park-4"));
    edits.put("ts", d -> d.put("ts", "2026-03-31T23:59:59.251Z"));
    edits.put("seq", d -> d.put("seq", 43));
    edits.put("metrics", d -> ((ObjectNode) d.get("metrics")).remove("energyKwh"));
    edits.forEach((field, edit) -> {
      ObjectNode changed = doc.deepCopy();
      edit.accept(changed);
      assertThat(DocumentEncoder.difference(changed, READING)).as(field).isEqualTo(field);
    });
    Telemetry extraMetric = new Telemetry("cp-17", 42, READING.ts(), "park-3", "eu-west", "FAULTED", "E042",
        Map.of("powerKw", 11.5, "energyKwh", 1234.0, "soc", 80.0));
    assertThat(DocumentEncoder.difference(doc, extraMetric)).isEqualTo("metrics");
  }

  static final Telemetry FIRMWARE_2 = new Telemetry("cp-17", 43, Instant.parse("2026-04-01T00:00:10Z"), "park-3", "eu-west",
      "CHARGING", null, Map.of("powerKw", 11.5), Map.of("fw", "2.4.1", "connectorId", "2"), null, false);
  /** A clock half an hour ahead under receive-time: ts is the receive time, the device's time kept. */
  static final Telemetry RECEIVED = new Telemetry("cp-18", 7, Instant.parse("2026-04-01T00:00:10.123Z"), null, null, null, null,
      Map.of(), Map.of(), Instant.parse("2026-04-01T00:30:00Z"), true);

  @Test
  void attributesTheDevicesTimeAndTheClockFlagAreInTheDocument() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    out.event(FIRMWARE_2);
    out.event(RECEIVED);
    String[] l = lines(out);
    JsonNode fw = JSON.readTree(l[1]);
    assertThat(fw.path("attributes").path("fw").asText()).isEqualTo("2.4.1");
    assertThat(fw.path("attributes").path("connectorId").asText()).isEqualTo("2");
    assertThat(fw.has("deviceTs")).isFalse();
    assertThat(fw.has("clockAhead")).isFalse();
    JsonNode ahead = JSON.readTree(l[3]);
    assertThat(JSON.readTree(l[2]).path("create").path("_index").asText()).isEqualTo("ev-2026.04.01"); // by receive time
    assertThat(ahead.path("ts").asText()).isEqualTo("2026-04-01T00:00:10.123Z");
    assertThat(ahead.path("deviceTs").asText()).isEqualTo("2026-04-01T00:30:00Z");
    assertThat(ahead.path("clockAhead").asBoolean()).isTrue();
    assertThat(ahead.has("attributes")).isFalse();
  }

  @Test
  void aRedeliveryUnderReceiveTimeIsTheSameReadingAndOtherAttributesAreADifference() throws Exception {
    DocumentEncoder.Bulk out = bulk(0);
    out.event(RECEIVED);
    out.event(FIRMWARE_2);
    String[] l = lines(out);
    JsonNode stored = JSON.readTree(l[1]);
    // received again a minute later: another receive time, the same device time
    Telemetry again = new Telemetry("cp-18", 7, RECEIVED.ts().plusSeconds(60), null, null, null, null, Map.of(), Map.of(),
        RECEIVED.deviceTs(), true);
    assertThat(DocumentEncoder.difference(stored, again)).isNull();
    Telemetry otherDeviceTime = new Telemetry("cp-18", 7, RECEIVED.ts(), null, null, null, null, Map.of(), Map.of(),
        RECEIVED.deviceTs().plusMillis(1), true);
    assertThat(DocumentEncoder.difference(stored, otherDeviceTime)).isEqualTo("deviceTs");
    // the clock caught up before the redelivery: no longer flagged, still the same reading
    JsonNode fw = JSON.readTree(l[3]);
    assertThat(DocumentEncoder.difference(fw, FIRMWARE_2)).isNull();
    Telemetry otherFirmware = new Telemetry("cp-17", 43, FIRMWARE_2.ts(), "park-3", "eu-west", "CHARGING", null,
        Map.of("powerKw", 11.5), Map.of("fw", "2.4.2", "connectorId", "2"), null, true);
    assertThat(DocumentEncoder.difference(fw, otherFirmware)).isEqualTo("attributes.fw");
    Telemetry fewer = new Telemetry("cp-17", 43, FIRMWARE_2.ts(), "park-3", "eu-west", "CHARGING", null,
        Map.of("powerKw", 11.5), Map.of("fw", "2.4.1"), null, false);
    assertThat(DocumentEncoder.difference(fw, fewer)).isEqualTo("attributes.connectorId");
  }

  @Test
  void attributesAreOneFieldInTheMappingWhateverTheEngine() {
    assertThat(IndexSetup.mappings(new IndexSetup.Engine("opensearch", "3.8.0")).path("properties").path("attributes").path("type").asText())
        .isEqualTo("flat_object");
    assertThat(IndexSetup.attributesMapping(new IndexSetup.Engine("opensearch", "2.6.0")).toString())
        .isEqualTo("{\"type\":\"object\",\"enabled\":false}");
    assertThat(IndexSetup.attributesMapping(new IndexSetup.Engine("elasticsearch", "8.19.4")).path("type").asText()).isEqualTo("flattened");
    assertThat(IndexSetup.attributesMapping(new IndexSetup.Engine("elasticsearch", "7.2.1")).path("enabled").asBoolean(true)).isFalse();
    JsonNode p = IndexSetup.mappings(new IndexSetup.Engine("elasticsearch", "8.19.4")).path("properties");
    assertThat(p.path("deviceTs").path("type").asText()).isEqualTo("date");
    assertThat(p.path("clockAhead").path("type").asText()).isEqualTo("boolean");
  }
}
