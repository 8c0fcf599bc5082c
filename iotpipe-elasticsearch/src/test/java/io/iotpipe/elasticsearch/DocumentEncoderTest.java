package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig.IndexPeriod;
import io.iotpipe.core.envelope.Telemetry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DocumentEncoderTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final Telemetry READING = new Telemetry("cp-17", 42, Instant.parse("2026-03-31T23:59:59.250Z"), "park-3", "eu-west",
      "FAULTED", "E042", Map.of("powerKw", 11.5, "energyKwh", 1234.0));

  static String[] lines(ByteArrayOutputStream out) {
    return out.toString(StandardCharsets.UTF_8).split("\n");
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").appendEvent(out, READING, Instant.parse("2026-04-01T00:00:01Z").toEpochMilli());
    String[] l = lines(out);
    assertThat(l).hasSize(2);
    JsonNode action = JSON.readTree(l[0]).path("index");
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").appendEvent(out,
        new Telemetry("d", 1, Instant.EPOCH, null, null, "IDLE", null, Map.of()), 0);
    JsonNode doc = JSON.readTree(lines(out)[1]);
    assertThat(doc.has("errorCode")).isFalse();
    assertThat(doc.has("site")).isFalse();
    assertThat(doc.path("metrics").isObject()).isTrue();
    assertThat(doc.path("metrics").size()).isZero();
  }

  @Test
  void latestStateIsOneDocumentPerDeviceVersionedExternallyBySeq() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new DocumentEncoder("ev", IndexPeriod.DAILY, "ev-latest").appendLatest(out, READING, 0);
    JsonNode action = JSON.readTree(lines(out)[0]).path("index");
    assertThat(action.path("_index").asText()).isEqualTo("ev-latest");
    assertThat(action.path("_id").asText()).isEqualTo("cp-17");
    assertThat(action.path("version").asLong()).isEqualTo(42);
    assertThat(action.path("version_type").asText()).isEqualTo("external");
    assertThat(JSON.readTree(lines(out)[1]).path("seq").asLong()).isEqualTo(42);
  }

  @Test
  void nonFiniteMetricsAreNamedAsUnencodable() {
    Map<String, Double> m = new HashMap<>();
    m.put("powerKw", Double.NaN);
    assertThat(DocumentEncoder.unencodable(new Telemetry("d", 1, Instant.EPOCH, null, null, null, null, m)))
        .contains("powerKw").contains("NaN");
    assertThat(DocumentEncoder.unencodable(READING)).isNull();
  }
}
