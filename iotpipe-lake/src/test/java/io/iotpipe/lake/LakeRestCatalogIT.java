package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.rest.RESTCatalog;
import org.apache.iceberg.util.SnapshotUtil;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake store on an Iceberg REST catalog: Apache Iceberg's own REST catalog server in a child JVM holds the table's
 * metadata pointer, the data on a real S3 API server (s3proxy). The writers are opened exactly as the role opens them
 * ({@link LakeCatalog#open()} with an {@code http://} URL, {@link TelemetryTable#createOrLoad}); the table is read back
 * by a client of its own.
 */
class LakeRestCatalogIT {

  @TempDir
  static Path dir;
  static LakeFixture lake;
  static IcebergRestServer rest;
  static LakeCatalog settings;
  static final List<Catalog> opened = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() {
    lake = new LakeFixture(dir.resolve("lake"));
    String warehouse = "s3://" + lake.bucket + "/warehouse";
    rest = IcebergRestServer.start(dir.resolve("rest"), lake.s3, warehouse);
    // With lake.catalog.username and password the writers first exchange them for a token at the catalog's OAuth2
    // endpoint; Iceberg's test server issues one to any client (it does not enforce authentication).
    settings = new LakeCatalog(rest.uri(), "lake-writer", "secret-" + java.util.UUID.randomUUID(), warehouse,
        lake.s3.endpoint().toString(), true, "us-east-1", lake.s3.accessKey(), lake.s3.secretKey());
  }

  @AfterAll
  static void stop() throws Exception {
    for (Catalog c : opened) {
      ((AutoCloseable) c).close();
    }
    if (rest != null) {
      rest.close();
    }
    if (lake != null) {
      lake.close();
    }
  }

  /** One writer process: the catalog and table as {@link LakePlugin} opens them. */
  static Table writerTable(TableIdentifier id) {
    Catalog c = settings.open();
    opened.add(c);
    assertThat(c).isInstanceOf(RESTCatalog.class);
    return new TelemetryTable(LakeFixture.METRICS).createOrLoad(c, id);
  }

  private static void await(CyclicBarrier barrier) {
    try {
      barrier.await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the other writer did not reach its commit", e);
    }
  }

  @Test
  void twoWritersThroughTheRestCatalogEveryReadingOnceAndARedeliveryNotDoubled() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    writerTable(id);
    List<SinkRecord> all = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    // Both writers flush at the same moment, so their commits race at the REST server (one is told to retry).
    CyclicBarrier together = new CyclicBarrier(2);
    ExecutorService threads = Executors.newFixedThreadPool(2); // the common pool has one thread on two cores
    for (int w = 0; w < 2; w++) {
      String partition = "storage.p" + w;
      Table t = writerTable(id);
      String prefix = "w" + w + "-";
      writers.add(CompletableFuture.runAsync(() -> {
        LakeSink sink = new LakeSink("lake", t, 100_000, 1L << 30);
        List<SinkRecord> readings = LakeFixture.readings(partition, prefix, 10, 20);
        for (int from = 0; from < readings.size(); from += 50) {
          List<SinkRecord> batch = readings.subList(from, from + 50);
          CompletableFuture<List<Outcome>> s = sink.write(batch).toCompletableFuture();
          await(together);
          sink.flush();
          assertThat(s.join()).containsOnly(Outcome.DELIVERED);
          all.addAll(batch);
        }
      }, threads));
    }
    for (CompletableFuture<Void> w : writers) {
      w.get();
    }
    threads.shutdown();

    // Committed, then the process died before acking: a new one gets all of p0 again, plus readings it never had.
    LakeSink next = new LakeSink("lake", writerTable(id), 100_000, 1L << 30);
    next.open("storage.p0");
    List<SinkRecord> p0 = all.stream().filter(r -> r.source().equals("storage.p0")).toList();
    List<SinkRecord> fresh = LakeFixture.readings("storage.p0", "w0late-", 2, 5);
    CompletableFuture<List<Outcome>> again = next.write(Stream.concat(p0.stream(), fresh.stream()).toList()).toCompletableFuture();
    next.flush();
    assertThat(again.join()).hasSize(p0.size() + fresh.size()).containsOnly(Outcome.DELIVERED);
    all.addAll(fresh);

    // An independent reader: a REST client of its own, configured by hand, not by LakeCatalog.
    RESTCatalog reader = new RESTCatalog();
    reader.initialize("reader", Map.of("uri", rest.uri(), "io-impl", "org.apache.iceberg.aws.s3.S3FileIO",
        "s3.endpoint", lake.s3.endpoint().toString(), "s3.path-style-access", "true", "client.region", "us-east-1",
        "s3.access-key-id", lake.s3.accessKey(), "s3.secret-access-key", lake.s3.secretKey()));
    opened.add(reader);
    assertThat(reader.listTables(id.namespace())).contains(id); // the writers created the namespace, then the table
    Table table = reader.loadTable(id);
    lake.assertExactlyOnce(table, all); // Iceberg's generic reader, and DuckDB over the snapshot's Parquet files
    assertThat(table.location()).startsWith("s3://" + lake.bucket + "/warehouse/");

    // The snapshot summaries carry the ledger through the REST server: per partition, each commit's state file
    // (on S3) names the previous commit of that partition; p0's redelivery added one commit (the fresh readings) after
    // its new owner's claim, no copies.
    for (String partition : List.of("storage.p0", "storage.p1")) {
      List<Snapshot> commits = new ArrayList<>();
      for (Snapshot s : SnapshotUtil.currentAncestors(table)) {
        if (CommitLedger.partitionsOf(s).contains(partition)) {
          commits.add(0, s);
        }
      }
      // each owner's claim (a commit without files) and its commits: 1 + 4, and for p0 the second owner's 1 + 1
      assertThat(commits).hasSize(partition.equals("storage.p0") ? 7 : 5);
      String previous = null;
      for (Snapshot s : commits) {
        assertThat(s.summary().get(CommitLedger.COMMIT_ID)).isNotBlank();
        assertThat(CommitLedger.readState(table.io(), s, java.util.Set.of(partition)).get(partition).previousCommitId()).isEqualTo(previous);
        previous = s.summary().get(CommitLedger.COMMIT_ID);
      }
    }
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo(String.valueOf(all.size()));

    // The pointer to the current metadata lives in the REST server's catalog, not in any catalog of the writers.
    String pointer = ((HasTableOperations) table).operations().current().metadataFileLocation();
    try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + rest.catalogDb);
         PreparedStatement q = db.prepareStatement("SELECT metadata_location FROM iceberg_tables WHERE table_namespace = ? AND table_name = ?")) {
      q.setString(1, id.namespace().toString());
      q.setString(2, id.name());
      try (ResultSet r = q.executeQuery()) {
        assertThat(r.next()).isTrue();
        assertThat(r.getString(1)).isEqualTo(pointer);
      }
    }
    assertThat(lake.s3.blobs().resolve(pointer.substring("s3://".length()))).isRegularFile();
    assertThat(Files.exists(lake.dir.resolve("catalog.db"))).isFalse();
  }
}
