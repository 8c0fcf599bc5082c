package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.deletes.EqualityDeleteWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code iotpipe query}'s planning and view over a table in a <em>local</em> warehouse (a directory and a SQLite catalog
 * file, as {@code lake.warehouse: file:/…} configures it: no server): as-of resolution by snapshot id and by time,
 * filters pushed down to Iceberg's planning, schema evolution, and row-level deletes written by another engine.
 * The same over S3 is {@code LakeRoleIT}.
 */
class LakeQueryTest {

  @TempDir
  Path dir;

  private Catalog catalog;
  private Table table;
  private final List<SinkRecord> first = LakeFixture.readings("q0", "a-", 4, 30); // 120 rows over two event days
  private final List<SinkRecord> second = LakeFixture.readings("q1", "b-", 3, 10); // 30 more

  @BeforeEach
  void twoCommits() {
    LakeCatalog settings = new LakeCatalog("jdbc:sqlite:" + dir.resolve("catalog.db"), null, null,
        "file:" + dir.resolve("warehouse"), null, false, "us-east-1", null, null);
    assertThat(settings.isLocal()).isTrue();
    catalog = settings.open();
    TableIdentifier id = TableIdentifier.of(Namespace.of("iotpipe"), "t_" + UUID.randomUUID().toString().substring(0, 8));
    ((SupportsNamespaces) catalog).createNamespace(id.namespace());
    table = new TelemetryTable(LakeFixture.METRICS).createOrLoad(catalog, id);
    commit(first);
    long firstAt = table.currentSnapshot().timestampMillis();
    // the second snapshot must be committed in a later millisecond for a time to tell them apart
    await().until(() -> System.currentTimeMillis() > firstAt);
    commit(second);
  }

  private void commit(List<SinkRecord> rows) {
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    var done = sink.write(rows).toCompletableFuture();
    sink.flush();
    assertThat(done.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
  }

  @AfterEach
  void close() throws Exception {
    ((AutoCloseable) catalog).close();
  }

  private static long count(LakeQuery q, String sql) throws Exception {
    try (Statement s = q.connection().createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  @Test
  void theCurrentSnapshotHoldsEveryCommittedReadingOnceWithTsAsATimestampWithTimeZone() throws Exception {
    try (LakeQuery q = new LakeQuery(table, LakeScan.current(), line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(150);
      assertThat(count(q, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM telemetry)")).isEqualTo(150);
      try (Statement s = q.connection().createStatement(); ResultSet r = s.executeQuery(
          "SELECT column_name, column_type FROM (DESCRIBE telemetry)")) {
        List<String> cols = new ArrayList<>();
        while (r.next()) {
          cols.add(r.getString(1) + " " + r.getString(2));
        }
        // the table's columns, in its order, and nothing from Iceberg's folders (no event_day)
        assertThat(cols).startsWith("ts TIMESTAMP WITH TIME ZONE", "device_id VARCHAR", "seq BIGINT")
            .contains("powerKw DOUBLE", "extra_metrics MAP(VARCHAR, DOUBLE)").endsWith("ingest_ts TIMESTAMP WITH TIME ZONE", "tenant VARCHAR")
            .noneMatch(c -> c.startsWith("event_day"));
      }
      assertThat(count(q, "SELECT count(*) FROM telemetry WHERE extra_metrics['fanRpm'] IS NOT NULL")).isEqualTo(150);
      // a local warehouse is read in place: nothing copied
      assertThat(q.describe()).containsEntry("stagedFiles", 0).containsEntry("stagedBytes", 0L);
      try (var staged = Files.list(q.staging())) {
        assertThat(staged.count()).isZero();
      }
    }
  }

  @Test
  void asOfASnapshotIdOrATimeReadsWhatWasCommittedThen() throws Exception {
    Snapshot older = table.snapshot(table.currentSnapshot().parentId());
    try (LakeQuery q = new LakeQuery(table, new LakeScan(older.snapshotId(), null, null, null, null), line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(120);
      assertThat(count(q, "SELECT count(*) FROM telemetry WHERE device_id LIKE 'b-%'")).isZero();
      assertThat(q.describe()).containsEntry("snapshot", older.snapshotId());
    }
    Instant thatMoment = Instant.ofEpochMilli(older.timestampMillis());
    assertThat(new LakeScan(null, thatMoment, null, null, null).snapshot(table).snapshotId()).isEqualTo(older.snapshotId());
    try (LakeQuery q = new LakeQuery(table, new LakeScan(null, thatMoment, null, null, null), line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(120);
    }
    assertThat(new LakeScan(null, Instant.now().plusSeconds(60), null, null, null).snapshot(table).snapshotId())
        .isEqualTo(table.currentSnapshot().snapshotId());
  }

  @Test
  void anAsOfBeforeTheFirstSnapshotOrAnUnknownIdIsRefusedNamingWhatExists() {
    // the oldest kept snapshot (each sink's claim of its partition comes before its commit)
    Snapshot oldest = java.util.stream.StreamSupport.stream(table.snapshots().spliterator(), false)
        .min(java.util.Comparator.comparingLong(Snapshot::timestampMillis)).orElseThrow();
    assertThatThrownBy(() -> new LakeScan(null, Instant.ofEpochMilli(oldest.timestampMillis() - 1), null, null, null).snapshot(table))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("its oldest kept snapshot was committed at " + Instant.ofEpochMilli(oldest.timestampMillis()));
    assertThatThrownBy(() -> new LakeScan(42L, null, null, null, null).snapshot(table))
        .hasMessageContaining("no snapshot 42 in the table").hasMessageContaining("iotpipe lake snapshots");
    assertThatThrownBy(() -> new LakeScan(1L, Instant.now(), null, null, null)).hasMessageContaining("not both");
  }

  @Test
  void filtersArePushedDownSoOnlyFilesThatMayMatchAreReadAndTheRowsAreExact() throws Exception {
    // readings start at 2026-12-06T23:59:32Z, one per device every 2 s: day one holds seq 1..14, day two seq 15..30
    Instant dayTwo = Instant.parse("2026-12-07T00:00:00Z");
    int allFiles = LakeScan.current().plan(table).tasks().size();
    LakeScan oneDeviceDayTwo = new LakeScan(null, null, dayTwo, null, List.of("a-2"));
    LakeScan.Plan plan = oneDeviceDayTwo.plan(table);
    assertThat(plan.tasks()).isNotEmpty().hasSizeLessThan(allFiles);
    assertThat(plan.tasks()).allMatch(t -> t.file().location().contains("event_day=2026-12-07"));
    long expected = first.stream().filter(r -> r.telemetry().deviceId().equals("a-2") && !r.telemetry().ts().isBefore(dayTwo)).count();
    assertThat(expected).isEqualTo(16);
    try (LakeQuery q = new LakeQuery(table, oneDeviceDayTwo, line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(expected);
      assertThat(count(q, "SELECT min(seq) FROM telemetry")).isEqualTo(15);
    }
    Instant until = Instant.parse("2026-12-06T23:59:40Z"); // seq 1..4 (ts 23:59:32 … :38)
    LakeScan firstSeconds = new LakeScan(null, null, null, until, List.of("a-0", "b-1"));
    long want = new ArrayList<SinkRecord>() {{ addAll(first); addAll(second); }}.stream()
        .filter(r -> List.of("a-0", "b-1").contains(r.telemetry().deviceId()) && r.telemetry().ts().isBefore(until)).count();
    try (LakeQuery q = new LakeQuery(table, firstSeconds, line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(want).isEqualTo(8);
    }
    assertThatThrownBy(() -> new LakeScan(null, null, dayTwo, dayTwo, null)).hasMessageContaining("is not before --until");
  }

  @Test
  void aMetricAddedLaterIsAColumnOfTheCurrentSnapshotButNotOfAnOlderOne() throws Exception {
    new TelemetryTable(List.of("powerKw", "energyKwh", "soc", "fanRpm")).evolve(table);
    table.refresh();
    try (LakeQuery q = new LakeQuery(table, LakeScan.current(), line -> {})) {
      // no file has the column yet: it reads as NULL with the table's type (the old value stays in extra_metrics)
      assertThat(count(q, "SELECT count(*) FROM telemetry WHERE fanRpm IS NULL")).isEqualTo(150);
    }
    long older = table.currentSnapshot().parentId();
    try (LakeQuery q = new LakeQuery(table, new LakeScan(older, null, null, null, null), line -> {})) {
      assertThatThrownBy(() -> count(q, "SELECT count(fanRpm) FROM telemetry")).hasMessageContaining("fanRpm");
    }
  }

  @Test
  void rowsDeletedByAnotherEngineAreNotReturned() throws Exception {
    // Spark's MERGE/DELETE write equality or position deletes; this project's writer never does, but the table is
    // shared: the query must apply them (here: device a-1's rows deleted by equality on device_id).
    var schema = table.schema();
    var deleteSchema = schema.select("device_id");
    GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).deleteFileFormat(FileFormat.PARQUET)
        .equalityFieldIds(new int[] {schema.findField("device_id").fieldId()}).equalityDeleteRowSchema(deleteSchema).build();
    OutputFileFactory files = OutputFileFactory.builderFor(table, 1, 1).format(FileFormat.PARQUET).build();
    var rowDelta = table.newRowDelta();
    for (String day : List.of("2026-12-06", "2026-12-07")) {
      var key = new org.apache.iceberg.PartitionKey(table.spec(), schema);
      GenericRecord probe = GenericRecord.create(schema);
      probe.setField("ts", java.time.OffsetDateTime.parse(day + "T12:00:00Z"));
      key.partition(new org.apache.iceberg.data.InternalRecordWrapper(schema.asStruct()).wrap(probe));
      EqualityDeleteWriter<Record> w = factory.newEqualityDeleteWriter(files.newOutputFile(table.spec(), key), table.spec(), key);
      try (w) {
        GenericRecord del = GenericRecord.create(deleteSchema);
        del.setField("device_id", "a-1");
        w.write(del);
      }
      rowDelta.addDeletes(w.toDeleteFile());
    }
    rowDelta.commit();
    table.refresh();
    assertThat(LakeScan.current().plan(table).hasDeletes()).isTrue();
    try (LakeQuery q = new LakeQuery(table, LakeScan.current(), line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(120);
      assertThat(count(q, "SELECT count(*) FROM telemetry WHERE device_id = 'a-1'")).isZero();
      assertThat(count(q, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM telemetry)")).isEqualTo(120);
    }
  }

  @Test
  void aTableWhoseFilesAreNotLocalIsStagedThroughItsFileIoAndTheStagingRemovedAfterwards() throws Exception {
    // Iceberg's in-memory FileIO stands in for S3 here (LakeRoleIT does it on the real S3 server): the copy path
    org.apache.iceberg.inmemory.InMemoryCatalog mem = new org.apache.iceberg.inmemory.InMemoryCatalog();
    mem.initialize("mem", Map.of());
    mem.createNamespace(Namespace.of("t"));
    Table remote = new TelemetryTable(LakeFixture.METRICS).createOrLoad(mem, TableIdentifier.of("t", "remote"));
    Table local = table;
    table = remote;
    try {
      for (int i = 0; i < 6; i++) {
        commit(LakeFixture.readings("q" + i, "r" + i + "-", 3, 4)); // 6 commits of one event day: 6 files
      }
    } finally {
      table = local;
    }
    List<String> progress = new ArrayList<>();
    Path staged;
    try (LakeQuery q = new LakeQuery(remote, LakeScan.current(), progress::add)) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isEqualTo(72);
      assertThat(count(q, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM telemetry)")).isEqualTo(72);
      assertThat(q.describe()).containsEntry("dataFiles", 6).containsEntry("stagedFiles", 6);
      staged = q.staging();
      try (var files = Files.list(staged)) {
        assertThat(files.count()).as("the planned files copied here").isEqualTo(6);
      }
    }
    assertThat(staged).doesNotExist();
  }

  @Test
  void anEmptyTableIsAnEmptyViewWithTheTablesColumns() throws Exception {
    Table empty = new TelemetryTable(LakeFixture.METRICS).createOrLoad(catalog, TableIdentifier.of("iotpipe", "empty_" + UUID.randomUUID().toString().substring(0, 6)));
    try (LakeQuery q = new LakeQuery(empty, LakeScan.current(), line -> {})) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).isZero();
      assertThat(count(q, "SELECT count(*) FROM (DESCRIBE telemetry) WHERE column_name = 'powerKw'")).isEqualTo(1);
      assertThat(q.describe()).containsEntry("snapshot", null);
    }
  }
}
