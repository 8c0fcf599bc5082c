package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sink's bookkeeping on Iceberg's in-memory catalog (a fake store: fast, no server). Durability, crashes and
 * several writers are proven against the real S3 server and catalog in {@code LakeSinkIT}.
 */
class LakeSinkTest {

  private Table table;

  @BeforeEach
  void table() {
    InMemoryCatalog catalog = new InMemoryCatalog();
    catalog.initialize("mem", Map.of());
    catalog.createNamespace(Namespace.of("t"));
    table = new TelemetryTable(LakeFixture.METRICS).createOrLoad(catalog, TableIdentifier.of("t", "x" + UUID.randomUUID().toString().substring(0, 6)));
  }

  @Test
  void nothingIsDeliveredBeforeFlushAndTheBudgetAsksForOne() {
    LakeSink sink = new LakeSink("lake", table, 50, 1L << 30);
    List<SinkRecord> batch = LakeFixture.readings("q0", "d-", 5, 10);
    CompletableFuture<List<Outcome>> stage = sink.write(batch).toCompletableFuture();
    assertThat(stage).isNotDone();
    assertThat(sink.flushDue()).isTrue();
    assertThat(table.currentSnapshot()).isNull();
    sink.flush();
    assertThat(stage.join()).hasSize(50).containsOnly(Outcome.DELIVERED);
    assertThat(sink.flushDue()).isFalse();
    table.refresh();
    assertThat(table.currentSnapshot().summary()).containsEntry(CommitLedger.PARTITION, "q0").containsKey(CommitLedger.COMMIT_ID);
  }

  @Test
  void closingAPartitionCompletesItsPendingReadingsAsRetryAndCommitsNothingOfIt() {
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    CompletableFuture<List<Outcome>> q0 = sink.write(LakeFixture.readings("q0", "a-", 2, 3)).toCompletableFuture();
    CompletableFuture<List<Outcome>> q1 = sink.write(LakeFixture.readings("q1", "b-", 2, 3)).toCompletableFuture();
    sink.close("q0");
    assertThat(q0.join()).allMatch(o -> o instanceof Outcome.Retry);
    sink.flush();
    assertThat(q1.join()).containsOnly(Outcome.DELIVERED);
    table.refresh();
    assertThat(table.currentSnapshot().summary().get(CommitLedger.PARTITION)).isEqualTo("q1");
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo("6");
  }

  @Test
  void theSameReadingTwiceBeforeItsCommitIsWrittenOnceAndADifferentOneRejected() {
    LakeSink sink = new LakeSink("lake", table, 1000, 1L << 30);
    List<SinkRecord> batch = LakeFixture.readings("q0", "a-", 1, 2);
    Telemetry t = batch.get(0).telemetry();
    Telemetry other = new Telemetry(t.deviceId(), t.seq(), t.ts(), t.site(), t.region(), "IDLE", null, t.metrics());
    CompletableFuture<List<Outcome>> first = sink.write(batch).toCompletableFuture();
    CompletableFuture<List<Outcome>> again = sink.write(List.of(batch.get(0), new SinkRecord(other, new byte[0], "q0", 0)))
        .toCompletableFuture();
    assertThat(again).isNotDone(); // its first reading waits for the commit like the original
    sink.flush();
    assertThat(first.join()).containsOnly(Outcome.DELIVERED);
    assertThat(again.join().get(0)).isEqualTo(Outcome.DELIVERED); // the redelivery, with its original
    assertThat(again.join().get(1)).isInstanceOf(Outcome.Reject.class);
    table.refresh();
    assertThat(table.currentSnapshot().summary().get("total-records")).isEqualTo("2");
  }
}
