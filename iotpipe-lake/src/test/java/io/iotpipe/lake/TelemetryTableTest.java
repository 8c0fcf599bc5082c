package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

class TelemetryTableTest {

  private final TelemetryTable table = new TelemetryTable(List.of("powerKw", "soc"));

  @Test
  void columnsAsTheFileStoreHasThemWithTsATimestamptz() {
    Schema s = table.schema();
    assertThat(s.columns().stream().map(Types.NestedField::name))
        .containsExactly("ts", "device_id", "seq", "site", "region", "status", "error_code", "powerKw", "soc", "extra_metrics", "ingest_ts",
            "tenant");
    assertThat(s.findType("ts")).isEqualTo(Types.TimestampType.withZone());
    assertThat(s.findType("ingest_ts")).isEqualTo(Types.TimestampType.withZone());
  }

  @Test
  void aRowCarriesItsDevicesTenantAndNoneStaysNull() {
    Schema s = table.schema();
    var t = new io.iotpipe.core.envelope.Telemetry("evc-1", 1, java.time.Instant.parse("2026-12-07T10:00:00Z"), null, null, "CHARGING",
        null, java.util.Map.of("powerKw", 7.0));
    assertThat(TelemetryTable.toRecord(s, t.withTenant("acme"), java.time.Instant.now()).getField("tenant")).isEqualTo("acme");
    assertThat(TelemetryTable.toRecord(s, t, java.time.Instant.now()).getField("tenant")).isNull();
  }

  @Test
  void partitionedByEventDayUnderANameNoColumnHas() {
    Schema s = table.schema();
    PartitionSpec spec = TelemetryTable.spec(s);
    assertThat(spec.fields()).singleElement().satisfies(f -> {
      assertThat(f.transform().toString()).isEqualTo("day");
      assertThat(s.findField(f.name())).isNull();
    });
    assertThat(TelemetryTable.sortOrder(s).fields()).hasSize(2);
  }

  @Test
  void unconfiguredMetricsGoToExtraMetricsAndARedeliveryIsTheSameReading() {
    Telemetry t = new Telemetry("evc-1", 3, Instant.parse("2026-12-07T10:00:00Z"), "site", "eu", "CHARGING", null,
        Map.of("powerKw", 7.5, "fanRpm", 1200.0));
    Schema s = table.schema();
    Record a = TelemetryTable.toRecord(s, t, Instant.parse("2026-12-07T10:00:01Z"));
    Record later = TelemetryTable.toRecord(s, t, Instant.parse("2026-12-07T11:00:00Z"));
    assertThat(a.getField("powerKw")).isEqualTo(7.5);
    assertThat(a.getField("soc")).isNull();
    assertThat(a.getField("extra_metrics")).isEqualTo(Map.of("fanRpm", 1200.0));
    assertThat(TelemetryTable.sameReading(a, later)).isTrue();
    Telemetry other = new Telemetry("evc-1", 3, t.ts(), "site", "eu", "CHARGING", null, Map.of("powerKw", 7.6, "fanRpm", 1200.0));
    assertThat(TelemetryTable.sameReading(a, TelemetryTable.toRecord(s, other, Instant.now()))).isFalse();
  }

  @Test
  void uploadsAreClassifiedByCommitStep() {
    String t = "s3://b/warehouse/telemetry/t/";
    assertThat(FaultyFileIO.stepOf(t + "data/event_day=2026-12-07/00000-0-x-00001.parquet")).isEqualTo(Faults.Step.DATA_FILE);
    assertThat(FaultyFileIO.stepOf(t + "metadata/iotpipe-state/storage.p0/x.json")).isEqualTo(Faults.Step.STATE_FILE);
    assertThat(FaultyFileIO.stepOf(t + "metadata/3f2a-m0.avro")).isEqualTo(Faults.Step.MANIFEST);
    assertThat(FaultyFileIO.stepOf(t + "metadata/snap-123-1-3f2a.avro")).isEqualTo(Faults.Step.MANIFEST_LIST);
    assertThat(FaultyFileIO.stepOf(t + "metadata/00003-x.metadata.json")).isEqualTo(Faults.Step.METADATA_FILE);
  }
}
