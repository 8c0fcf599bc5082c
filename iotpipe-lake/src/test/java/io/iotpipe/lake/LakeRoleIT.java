package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.s3proxy.EmbeddedS3Proxy;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.LocalNodes;
import io.iotpipe.testkit.LocalStack;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake as the runtime runs it: the {@code lake} role, found through {@code ServiceLoader} with its own
 * {@code lake:} config section, consumes real partition queues, the runtime's commit clock commits the table on a
 * real S3 API server (s3proxy) with a SQLite catalog, its maintenance job compacts while the role commits, and every
 * confirmed reading is in the table exactly once.
 */
class LakeRoleIT {

  @TempDir
  static Path dir;
  static LocalStack stack;
  static EmbeddedS3Proxy s3;

  @BeforeAll
  static void start() {
    stack = LocalStack.start(dir, 1, 2, "", false, System.err::println);
    s3 = EmbeddedS3Proxy.start(dir.resolve("s3"));
  }

  @AfterAll
  static void stop() {
    if (s3 != null) {
      s3.close();
    }
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void theLakeRoleLandsEveryConfirmedReadingInTheTableOnce() throws Exception {
    String prefix = LocalNodes.prefix();
    String bucket = "lake-" + prefix.toLowerCase().replaceAll("[^a-z0-9]", "");
    s3.createBucket(bucket);
    String lake = """
        lake:
          catalog: {uri: "jdbc:sqlite:%s"}
          warehouse: s3://%s/warehouse
          s3: {endpoint: "%s", accessKey: "${LAKE_TEST_KEY:-%s}", secretKey: "${LAKE_TEST_SECRET:-%s}"}
          table: iotpipe.readings
          commitInterval: 1s
          maintenance: {every: 2s, compactMinFiles: 2}
        """.formatted(dir.resolve(prefix + "-catalog.db"), bucket, s3.endpoint(), s3.accessKey(), s3.secretKey());
    IotpipeConfig cfg = stack.pipeline(prefix, "", prefix + ".yaml",
        y -> y.replace("  partitions: 2\n", "  partitions: 2\n  sinks: [lake]\n") + lake);
    assertThat(cfg.topology().sinks()).containsExactly("lake");

    Role role = Role.of("lake");
    assertThat(Role.configured(cfg)).containsExactly(role);
    SimulationResult result;
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (PipelineRunner runner = new PipelineRunner(cfg, Set.of(role), "it-lake", registry).start();
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(20, 100, Duration.ofSeconds(5), 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      result = sim.run(null);
      assertThat(result.confirmed()).isPositive();
      await("every confirmed reading acked by the lake role after its commit").atMost(Duration.ofSeconds(120))
          .until(() -> runner.stats().get(role).delivered() >= result.confirmed() && runner.stats().get(role).pending() == 0);
      // The runtime runs the lake's upkeep while the writers commit: a round merged an event day's files.
      await("a maintenance round compacted files").atMost(Duration.ofSeconds(60))
          .until(() -> registry.counter("iotpipe.lake.maintenance.files.removed").count() > 0);
      assertThat(registry.counter("iotpipe.lake.maintenance.failures").count()).isZero();
    }

    LakeSection.Settings s = cfg.section(LakeSection.SECTION);
    Table table = s.catalog().open().loadTable(TableIdentifier.parse(s.table()));
    Map<String, Integer> seen = new HashMap<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      for (Record r : rows) {
        seen.merge(r.getField("device_id") + ":" + r.getField("seq"), 1, Integer::sum);
      }
    }
    assertThat(seen).as("every confirmed reading in the table").hasSize((int) result.confirmed());
    assertThat(seen.values()).as("each once").containsOnly(1);

    // An implementation that shares no code with the writer reads the same table over the S3 API: icebird (JavaScript)
    table.refresh();
    String metadata = ((org.apache.iceberg.HasTableOperations) table).operations().current().metadataFileLocation();
    long readStarted = System.nanoTime();
    IcebirdReader.Result icebird = IcebirdReader.read(s3.endpoint().toString(), "us-east-1", table.location(), metadata, s3.accessKey(), s3.secretKey());
    assertThat(icebird.formatVersion()).isEqualTo(2);
    assertThat(icebird.rows()).as("icebird: rows = confirmed").isEqualTo(result.confirmed());
    assertThat(icebird.distinctKeys()).as("icebird: every (device_id, seq) once").isEqualTo(result.confirmed());
    assertThat(icebird.duplicatedKeys()).isZero();
    assertThat(icebird.columnTypes()).containsEntry("ts", "timestamptz").containsEntry("device_id", "string").containsEntry("seq", "long");
    System.err.printf("LakeRoleIT: icebird read %d rows of %s over S3 in %d ms (ts e.g. %s)%n", icebird.rows(),
        metadata.substring(metadata.lastIndexOf('/') + 1), (System.nanoTime() - readStarted) / 1_000_000, icebird.tsValue());

    // `iotpipe query`'s engine over S3: the current snapshot's planned files copied from the S3 server, DuckDB's count
    long started = System.nanoTime();
    try (LakeQuery q = LakeQuery.open(s, LakeScan.current(), System.err::println)) {
      assertThat(count(q, "SELECT count(*) FROM telemetry")).as("query count = confirmed").isEqualTo(result.confirmed());
      assertThat(count(q, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM telemetry)")).isEqualTo(result.confirmed());
      assertThat(count(q, "SELECT count(*) FROM (SELECT device_id, seq FROM telemetry GROUP BY ALL HAVING count(*) > 1)")).isZero();
    }
    // ... and --as-of an earlier snapshot (by id and by its commit time) answers with what was committed then
    table.refresh();
    org.apache.iceberg.Snapshot earlier = null;
    for (org.apache.iceberg.HistoryEntry e : table.history()) {
      org.apache.iceberg.Snapshot snap = table.snapshot(e.snapshotId());
      long rows = Long.parseLong(snap.summary().get("total-records"));
      if (rows > 0 && rows < result.confirmed()) {
        earlier = snap;
        break;
      }
    }
    assertThat(earlier).as("a snapshot with some but not all readings (commits every 1 s over a 5 s run)").isNotNull();
    long thenRows = 0;
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).useSnapshot(earlier.snapshotId()).build()) {
      for (Record ignored : rows) {
        thenRows++;
      }
    }
    for (LakeScan asOf : java.util.List.of(new LakeScan(earlier.snapshotId(), null, null, null, null),
        new LakeScan(null, java.time.Instant.ofEpochMilli(earlier.timestampMillis()), null, null, null))) {
      try (LakeQuery q = LakeQuery.open(s, asOf, System.err::println)) {
        assertThat(count(q, "SELECT count(*) FROM telemetry")).as("as of " + asOf).isEqualTo(thenRows).isLessThan(result.confirmed());
        assertThat(count(q, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM telemetry)")).isEqualTo(thenRows);
      }
    }
    System.err.printf("LakeRoleIT: three queries over S3 (current: %d rows; as of snapshot %d: %d rows) in %d ms%n",
        result.confirmed(), earlier.snapshotId(), thenRows, (System.nanoTime() - started) / 1_000_000);
  }

  private static long count(LakeQuery q, String sql) throws java.sql.SQLException {
    try (java.sql.Statement st = q.connection().createStatement(); java.sql.ResultSet r = st.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }
}
