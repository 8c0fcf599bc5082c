package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.lake.LakeSection;
import io.iotpipe.lake.LakeSink;
import io.iotpipe.lake.TelemetryTable;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.StorageSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code iotpipe query} and {@code export} over the lake's table in a local warehouse (no server; the same over S3 is
 * {@code LakeRoleIT}), with the pipeline's config but without the brokers' passwords: the lake is the default source
 * when the config has a {@code lake:} section, {@code --as-of} reads an earlier snapshot, and exports hold exactly the
 * selected rows and columns.
 */
class LakeQueryCommandTest {

  @TempDir
  Path dir;

  private static List<SinkRecord> readings(String prefix, int devices, int perDevice) {
    List<SinkRecord> out = new ArrayList<>();
    Instant start = Instant.parse("2026-12-07T10:00:00Z");
    for (int s = 1; s <= perDevice; s++) {
      for (int d = 0; d < devices; d++) {
        Telemetry t = new Telemetry(prefix + d, s, start.plusSeconds(s * 60L), "site-a", "eu", "CHARGING", null,
            Map.of("powerKw", 7.0 + s));
        out.add(new SinkRecord(t, new byte[0], "q0", 0));
      }
    }
    return out;
  }

  private static void commit(Table table, List<SinkRecord> rows) {
    LakeSink sink = new LakeSink("lake", table, 1_000_000, 1L << 30);
    var done = sink.write(rows).toCompletableFuture();
    sink.flush();
    assertThat(done.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
  }

  @Test
  void queryAndExportReadTheLakeByDefaultAsOfAnySnapshotWithoutBrokerSecrets() throws Exception {
    String unset = "IOTPIPE_TEST_UNSET_" + Long.toHexString(System.nanoTime()).toUpperCase();
    Path config = dir.resolve("iotpipe.yaml");
    Files.writeString(config, """
        brokers:
          edge: {uris: [amqps://edge.example:5671], username: admin, password: "${%1$s}"}
          cloud: {uris: [amqps://cloud.example:5671], username: admin, password: "${%1$s}"}
        topology: {balancer: cloud, edges: [edge], sinks: [lake]}
        storage:
          dir: %2$s
        lake:
          catalog: {uri: "jdbc:sqlite:%3$s"}
          warehouse: "file:%4$s"
        """.formatted(unset, dir.resolve("store"), dir.resolve("catalog.db"), dir.resolve("warehouse")));
    LakeSection.Settings s = IotpipeConfig.load(config, System::getenv, java.util.Set.of("lake")).section(LakeSection.SECTION);
    long earlier;
    try (var catalog = (Catalog & AutoCloseable) s.catalog().open()) {
      TableIdentifier id = TableIdentifier.parse(s.table());
      ((SupportsNamespaces) catalog).createNamespace(Namespace.of("iotpipe"));
      Table table = new TelemetryTable(List.of("powerKw")).createOrLoad(catalog, id);
      commit(table, readings("evc-a", 3, 10)); // 30
      earlier = table.currentSnapshot().snapshotId();
      commit(table, readings("evc-b", 2, 10)); // 20 more
    }

    CliTest.Result now = CliTest.run("query", "-c", config.toString(), "--format", "csv",
        "SELECT count(*) AS n, count(DISTINCT (device_id, seq)) AS k FROM telemetry");
    assertThat(now.exit()).as(now.err()).isZero();
    assertThat(now.out()).contains("n,k").contains("50,50");
    assertThat(now.err()).doesNotContain(unset);

    CliTest.Result then = CliTest.run("query", "-c", config.toString(), "--json", "--as-of", Long.toString(earlier),
        "SELECT count(*) AS n FROM telemetry");
    assertThat(then.exit()).as(then.err()).isZero();
    assertThat(then.out()).contains("\"n\" : 30");

    CliTest.Result unknown = CliTest.run("query", "-c", config.toString(), "--as-of", "12345", "SELECT 1");
    assertThat(unknown.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err()).contains("no snapshot 12345 in the table").contains("iotpipe lake snapshots");

    CliTest.Result snapshots = CliTest.run("lake", "snapshots", "-c", config.toString());
    assertThat(snapshots.exit()).as(snapshots.err()).isZero();
    assertThat(snapshots.out()).contains(Long.toString(earlier)).contains("(current)");

    // one device, from the 4th minute on, two columns, to Parquet; everything to JSON Lines
    Path parquet = dir.resolve("out.parquet");
    CliTest.Result exp = CliTest.run("export", "-c", config.toString(), "--out", parquet.toString(), "--device", "evc-b1",
        "--since", "2026-12-07T10:04:00Z", "--columns", "ts,device_id,seq,powerKw", "--json");
    assertThat(exp.exit()).as(exp.err()).isZero();
    assertThat(exp.out()).contains("\"rows\" : 7").contains("\"source\" : \"lake\"");
    Path jsonl = dir.resolve("all.jsonl.gz");
    CliTest.Result all = CliTest.run("export", "-c", config.toString(), "--out", jsonl.toString());
    assertThat(all.exit()).as(all.err()).isZero();
    assertThat(all.out()).contains("exported 50 rows");
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement st = c.createStatement()) {
      try (ResultSet r = st.executeQuery("SELECT count(*), min(seq), count(DISTINCT device_id), string_agg(DISTINCT typeof(ts)) FROM read_parquet('" + parquet + "')")) {
        r.next();
        assertThat(r.getLong(1)).isEqualTo(7);
        assertThat(r.getLong(2)).isEqualTo(4);
        assertThat(r.getLong(3)).isEqualTo(1);
        assertThat(r.getString(4)).isEqualTo("TIMESTAMP WITH TIME ZONE");
      }
      try (ResultSet r = st.executeQuery("DESCRIBE SELECT * FROM read_parquet('" + parquet + "')")) {
        List<String> cols = new ArrayList<>();
        while (r.next()) {
          cols.add(r.getString(1));
        }
        assertThat(cols).containsExactly("ts", "device_id", "seq", "powerKw");
      }
      try (ResultSet r = st.executeQuery("SELECT count(*), count(DISTINCT (device_id, seq)) FROM read_json('" + jsonl + "', format = 'newline_delimited')")) {
        r.next();
        assertThat(r.getLong(1)).isEqualTo(50);
        assertThat(r.getLong(2)).isEqualTo(50);
      }
    }
    assertThat(Files.list(dir).map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".partial-"));

    CliTest.Result badColumn = CliTest.run("export", "-c", config.toString(), "--out", dir.resolve("x.csv").toString(), "--columns", "nope");
    assertThat(badColumn.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(badColumn.err()).contains("no column nope to export; the columns are ts, device_id, seq");
    CliTest.Result feather = CliTest.run("export", "-c", config.toString(), "--out", dir.resolve("x.feather").toString());
    assertThat(feather.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(feather.err()).contains("storage.formats");

    // the file store stays one option away, with the same row filters; --as-of is refused there with the reason
    IotpipeConfig storeOnly = IotpipeConfig.load(config, System::getenv, java.util.Set.of("storage"));
    try (StorageSink sink = new StorageSink(storeOnly.storage(), Clock.systemUTC(), new SimpleMeterRegistry())) {
      sink.open("q0");
      var pending = sink.write(readings("evc-s", 4, 5));
      sink.flush();
      assertThat(pending.toCompletableFuture().get(30, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
    }
    CliTest.Result store = CliTest.run("query", "-c", config.toString(), "--from", "store", "--device", "evc-s1,evc-s2",
        "--until", "2026-12-07T10:04:00Z", "--format", "csv", "SELECT count(*) AS n FROM telemetry");
    assertThat(store.exit()).as(store.err()).isZero();
    assertThat(store.out()).contains("n").contains("6"); // seq 1..3 of two devices
    CliTest.Result storeAsOf = CliTest.run("query", "-c", config.toString(), "--from", "store", "--as-of", "2026-12-07", "SELECT 1");
    assertThat(storeAsOf.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(storeAsOf.err()).contains("the file store keeps no snapshots");
  }
}
