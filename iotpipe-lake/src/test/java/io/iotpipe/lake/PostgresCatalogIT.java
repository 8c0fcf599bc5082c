package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.testkit.LocalPostgres;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog for several machines: a real PostgreSQL 15 database, two writers and a crash between commit and ack. */
class PostgresCatalogIT {

  @TempDir
  static Path dir;
  static LocalPostgres pg;
  static LakeFixture lake;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(LocalPostgres.installed(), "PostgreSQL 15 (Debian package postgresql) is not installed");
    pg = LocalPostgres.start();
    lake = new LakeFixture(dir.resolve("lake"), pg.jdbcUrl());
  }

  @AfterAll
  static void stop() {
    if (lake != null) {
      lake.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  @Test
  void twoWritersAndARedeliveryAfterACommittedButUnackedCrash() throws Exception {
    TableIdentifier id = LakeFixture.newTableId();
    lake.table(id, null, LakeFixture.METRICS);
    List<SinkRecord> all = java.util.Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      String partition = "storage.p" + w;
      Table t = lake.table(id, null, LakeFixture.METRICS);
      String prefix = "w" + w + "-";
      writers.add(CompletableFuture.runAsync(() -> {
        LakeSink sink = new LakeSink("lake", t, 100_000, 1L << 30);
        List<SinkRecord> readings = LakeFixture.readings(partition, prefix, 10, 20);
        for (int from = 0; from < readings.size(); from += 25) {
          List<SinkRecord> batch = readings.subList(from, from + 25);
          CompletionStage<List<Outcome>> s = sink.write(batch);
          sink.flush();
          assertThat(s.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
          all.addAll(batch);
        }
      }));
    }
    for (CompletableFuture<Void> w : writers) {
      w.get();
    }
    // Committed, then the process died before acking: a new one gets everything of p0 again.
    LakeSink next = new LakeSink("lake", lake.table(id, null, LakeFixture.METRICS), 100_000, 1L << 30);
    next.open("storage.p0");
    List<SinkRecord> p0 = all.stream().filter(r -> r.source().equals("storage.p0")).toList();
    CompletionStage<List<Outcome>> again = next.write(p0);
    next.flush();
    assertThat(again.toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
    lake.assertExactlyOnce(lake.table(id, null, LakeFixture.METRICS), all);
  }
}
