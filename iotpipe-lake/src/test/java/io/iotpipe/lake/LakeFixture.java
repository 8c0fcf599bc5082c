package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.s3proxy.EmbeddedS3Proxy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;

/** A real s3proxy and a SQLite JDBC catalog file for one test class; each test uses a table of its own. */
final class LakeFixture implements AutoCloseable {

  static final List<String> METRICS = List.of("powerKw", "energyKwh", "soc");

  final EmbeddedS3Proxy s3;
  final String bucket = "lake-" + UUID.randomUUID().toString().substring(0, 8);
  final Path dir;
  final String catalogUri;
  private final List<Catalog> opened = new ArrayList<>();

  LakeFixture(Path dir) {
    this(dir, "jdbc:sqlite:" + dir.resolve("catalog.db"));
  }

  /** With the catalog at {@code catalogUri} (a PostgreSQL database, for instance). */
  LakeFixture(Path dir, String catalogUri) {
    this.dir = dir;
    this.s3 = EmbeddedS3Proxy.start(dir.resolve("s3"));
    s3.createBucket(bucket);
    this.catalogUri = catalogUri;
  }

  LakeCatalog settings() {
    return new LakeCatalog(catalogUri, catalogUri.startsWith("jdbc:postgresql:") ? "iotpipe" : null, null, "s3://" + bucket + "/warehouse", s3.endpoint().toString(), true,
        "us-east-1", s3.accessKey(), s3.secretKey());
  }

  /** A catalog as one process opens it; with {@code faults}, its uploads and swaps fail where they say. */
  Catalog catalog(Faults faults) {
    Map<String, String> props = new HashMap<>(settings().properties());
    if (faults != null) {
      props.put(CatalogProperties.FILE_IO_IMPL, FaultyFileIO.class.getName());
      props.put(FaultyFileIO.FAULTS_ID, faults.id);
    }
    Catalog c = CatalogUtil.loadCatalog("org.apache.iceberg.jdbc.JdbcCatalog", LakeCatalog.NAME, props, null);
    synchronized (opened) {
      opened.add(c);
    }
    return c;
  }

  /** A fresh table on Iceberg's in-memory catalog and FileIO: for unit tests of the sink's bookkeeping (no server). */
  static Table inMemoryTable() {
    org.apache.iceberg.inmemory.InMemoryCatalog catalog = new org.apache.iceberg.inmemory.InMemoryCatalog();
    catalog.initialize("mem", Map.of());
    catalog.createNamespace(Namespace.of("t"));
    return new TelemetryTable(METRICS).createOrLoad(catalog, TableIdentifier.of("t", "x" + UUID.randomUUID().toString().substring(0, 6)));
  }

  static TableIdentifier newTableId() {
    return TableIdentifier.of(Namespace.of("telemetry"), "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
  }

  Table table(TableIdentifier id, Faults faults, List<String> metrics) {
    Catalog c = catalog(faults);
    if (c instanceof SupportsNamespaces ns && !ns.namespaceExists(id.namespace())) {
      try {
        ns.createNamespace(id.namespace());
      } catch (org.apache.iceberg.exceptions.AlreadyExistsException raced) {
        // another writer made it
      }
    }
    Table t = new TelemetryTable(metrics).createOrLoad(c, id);
    return faults == null ? t : FaultyOperations.wrap(t, faults);
  }

  /** {@code devices} × {@code perDevice} readings of partition {@code source}, spread over two event days. */
  static List<SinkRecord> readings(String source, String devicePrefix, int devices, int perDevice) {
    List<SinkRecord> out = new ArrayList<>();
    Instant start = Instant.parse("2026-12-06T23:59:30Z");
    for (int s = 1; s <= perDevice; s++) {
      for (int d = 0; d < devices; d++) {
        Map<String, Double> m = new HashMap<>();
        m.put("powerKw", 7.0 + d + s / 100.0);
        m.put("energyKwh", s * 0.1);
        m.put("soc", 50.0);
        m.put("fanRpm", 1200.0 + s); // not configured: lands in extra_metrics
        Telemetry t = new Telemetry(devicePrefix + d, s, start.plusSeconds(s * 2L), "site-a", "eu-west",
            s % 7 == 0 ? "FAULT" : "CHARGING", s % 7 == 0 ? "E42" : null, m);
        out.add(new SinkRecord(t, t.id().getBytes(StandardCharsets.UTF_8), source, 0));
      }
    }
    return out;
  }

  /** Every data file of the current snapshot as a local path under the server's blob directory. */
  List<Path> dataFiles(Table table) throws IOException {
    table.refresh();
    List<Path> files = new ArrayList<>();
    if (table.currentSnapshot() == null) {
      return files;
    }
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask t : tasks) {
        String loc = t.file().location();
        files.add(s3.blobs().resolve(loc.substring("s3://".length())));
      }
    }
    return files;
  }

  /** Every reading once, read by Iceberg's reader and by DuckDB over the snapshot's files; ts a timestamptz. */
  void assertExactlyOnce(Table table, List<SinkRecord> expected) throws Exception {
    table.refresh();
    Map<String, Integer> seen = new HashMap<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      for (Record r : rows) {
        seen.merge(r.getField("device_id") + ":" + r.getField("seq"), 1, Integer::sum);
      }
    }
    Map<String, Integer> want = new HashMap<>();
    expected.forEach(r -> want.put(r.telemetry().id(), 1));
    assertThat(seen).isEqualTo(want);

    DuckDbReader.Result duck = DuckDbReader.read(dataFiles(table));
    assertThat(duck.rows()).isEqualTo(want.size());
    assertThat(duck.distinctKeys()).isEqualTo(want.size());
    assertThat(duck.duplicatedKeys()).isZero();
    assertThat(duck.tsType()).isEqualTo("TIMESTAMP WITH TIME ZONE");
  }

  @Override
  public void close() {
    synchronized (opened) {
      for (Catalog c : opened) {
        if (c instanceof AutoCloseable a) {
          try {
            a.close();
          } catch (Exception ignored) {
            // closing pools of abandoned "processes" at the end
          }
        }
      }
    }
    s3.close();
  }
}
