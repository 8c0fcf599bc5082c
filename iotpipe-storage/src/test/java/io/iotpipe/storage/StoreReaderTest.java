package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the store back for a rebuild of the search index: every committed reading once, in bounded pieces. */
class StoreReaderTest {

  @TempDir
  Path dir;

  @Test
  void readsEveryCommittedReadingOncePerHourAndSurvivesACompactionInTheMiddle() throws Exception {
    Path store = dir.resolve("store");
    StorageConfig cfg = TestStore.config(store, "parquet");
    List<SinkRecord> all = TestStore.readings(2, 5, 6);
    try (StorageSink sink = new StorageSink(cfg, Clock.systemUTC(), new SimpleMeterRegistry())) {
      // two commits: several files per hour, which a compaction then merges
      TestStore.writeAll(sink, all.subList(0, all.size() / 2), 7);
      TestStore.writeAll(sink, all.subList(all.size() / 2, all.size()), 7);
    }
    StoreReader reader = new StoreReader(cfg);
    List<StoreReader.Hour> hours = reader.hours(null, null);
    assertThat(hours).extracting(StoreReader.Hour::key).containsExactly("2026-11-20T10", "2026-11-20T11");
    assertThat(reader.rows(hours)).isEqualTo(all.size());
    assertThat(hours.get(1).files()).hasSizeGreaterThan(1);

    // the store role merges the hours after they were listed: their files are gone when they are read
    assertThat(Compactor.compact(store, cfg.metrics(), Duration.ZERO, Clock.systemUTC()).hours()).isEqualTo(2);
    assertThat(hours).allSatisfy(h -> assertThat(h.files()).noneMatch(Files::exists));
    Set<String> ids = new HashSet<>();
    AtomicInteger handedOver = new AtomicInteger();
    for (StoreReader.Hour h : hours) {
      List<String> attempt = new ArrayList<>();
      reader.replay(h, null, null, readings -> {
        handedOver.incrementAndGet();
        attempt.clear();
        readings.forEachRemaining(t -> attempt.add(t.id()));
      });
      for (String id : attempt) {
        assertThat(ids.add(id)).as("%s read twice", id).isTrue();
      }
    }
    assertThat(ids).containsExactlyInAnyOrderElementsOf(all.stream().map(r -> r.telemetry().id()).toList());
    // the vanished files fail the query as it opens them: each hour is listed again and handed over once, whole
    assertThat(handedOver.get()).isEqualTo(2);

    // a time window inside the hours: only its readings
    Instant since = Instant.parse("2026-11-20T10:55:00Z");
    Instant until = Instant.parse("2026-11-20T11:05:00Z");
    List<Telemetry> window = new ArrayList<>();
    for (StoreReader.Hour h : reader.hours(since, until)) {
      reader.replay(h, since, until, readings -> readings.forEachRemaining(window::add));
    }
    assertThat(window).isNotEmpty().allMatch(t -> !t.ts().isBefore(since) && t.ts().isBefore(until));
    assertThat(window).hasSize((int) all.stream().map(SinkRecord::telemetry).filter(t -> !t.ts().isBefore(since) && t.ts().isBefore(until)).count());
  }

  @Test
  void refusesAStoreThatCannotRebuildTheIndexAndSaysWhy() {
    String base = """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        storage:
          dir: %s
        """.formatted(dir);
    StorageConfig pseudonyms = IotpipeConfig.parse("t", base + "  privacy: {key: '${K}', columns: {deviceId: pseudonymise}}\n",
        k -> k.equals("K") ? "k".repeat(40) : null).storage();
    assertThatThrownBy(() -> new StoreReader(pseudonyms)).hasMessageContaining("storage.privacy.columns.deviceId is pseudonymise")
        .hasMessageContaining("cannot rebuild the index");
    StorageConfig jsonl = IotpipeConfig.parse("t", base + "  formats: [jsonl]\n", k -> null).storage();
    assertThatThrownBy(() -> new StoreReader(jsonl)).hasMessageContaining("add parquet to storage.formats");
    StorageConfig missing = IotpipeConfig.parse("t", base.replace("dir: " + dir, "dir: " + dir.resolve("nowhere")), k -> null).storage();
    assertThatThrownBy(() -> new StoreReader(missing)).hasMessageContaining("check storage.dir");
    assertThat(Files.isDirectory(dir)).isTrue();
  }
}
