package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.elasticsearch.ElasticsearchSink;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.StorageSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code iotpipe reindex} against a real OpenSearch and a store written by the real storage sink: the same readings go
 * to both sinks as the runtime would hand them over (attributes, a replaced clock, a flagged clock, metrics outside the
 * store's columns, late readings in another day); a day's index is deleted and rebuilt from the store, exactly as the
 * indexer had written it; the audit without a ledger (the sinks against each other) reports the gap before and none
 * after; a second run doubles nothing; a rebuild killed halfway (SIGKILL) resumes from its checkpoint.
 */
class ReindexIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant FIRST = Instant.parse("2026-12-05T23:30:00Z");
  private static final int DEVICES = 40;
  private static final int PER_DEVICE = 80;

  @TempDir
  static Path dir;
  static EmbeddedOpenSearch os;
  static EsClient es;

  @BeforeAll
  static void start() {
    os = EmbeddedOpenSearch.start(dir.resolve("os"));
    es = new EsClient(List.of(os.httpUri()), null, null, Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    if (es != null) {
      es.close();
    }
    if (os != null) {
      os.close();
    }
  }

  /** A config with its own index prefix and store; returns its file. */
  static Path config(String urls) throws Exception {
    String name = "r" + UUID.randomUUID().toString().substring(0, 8);
    Path f = dir.resolve(name + ".yaml");
    Files.writeString(f, """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        indexer:
          urls: [%s]
          indexPrefix: %s
          latestIndex: %s-latest
          requestTimeout: 20s
        storage:
          dir: %s
          formats: [parquet]
          rollAge: 1h
          metrics: [powerKw, soc]
          compaction: {enabled: false}
        """.formatted(urls, name, name, dir.resolve(name + "-store")));
    return f;
  }

  /**
   * Every 3 minutes from 23:30 on the 5th: four hours of the 6th and one of the 5th, so a day's rebuild spans several
   * hours. Every variant of a document the indexer writes occurs.
   */
  static List<Telemetry> readings() {
    List<Telemetry> out = new ArrayList<>();
    for (int s = 1; s <= PER_DEVICE; s++) {
      for (int d = 0; d < DEVICES; d++) {
        Instant ts = FIRST.plusSeconds(180L * s).plusMillis(d * 7L);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("powerKw", 7.3 + s * 0.01 + d);
        metrics.put("soc", 20.0 + s * 0.5);
        if (d % 4 == 3) {
          metrics.put("humidity", 41.5); // outside storage.metrics: the store's extra_metrics map
        }
        Map<String, String> attributes = d % 3 == 0 ? Map.of("fw", "2.4.1", "connectorId", "2") : Map.of();
        Instant deviceTs = d % 10 == 1 ? ts.plus(Duration.ofMinutes(30)) : null; // contract.futureTimestamps receive-time
        boolean ahead = d % 10 == 1 || d % 10 == 2;
        out.add(new Telemetry("ch-" + d, s, ts, d % 5 == 4 ? null : "site-" + d % 3, "eu-west", s % 7 == 0 ? "FAULTED" : "CHARGING",
            s % 7 == 0 ? "E42" : null, metrics, attributes, deviceTs, ahead));
      }
    }
    return out;
  }

  /** Both sinks get every reading, as the runtime hands them over; returns the config file. */
  static Path pipelineWrote(List<Telemetry> readings) throws Exception {
    Path f = config(os.httpUri().toString());
    IotpipeConfig cfg = IotpipeConfig.load(f, k -> null, null);
    List<SinkRecord> records = readings.stream().map(t -> new SinkRecord(t, new byte[0], "iotpipe.storage.p0", 0)).toList();
    try (StorageSink store = new StorageSink(cfg.storage(), Clock.systemUTC(), new SimpleMeterRegistry())) {
      List<java.util.concurrent.CompletableFuture<List<Outcome>>> fs = new ArrayList<>();
      for (int i = 0; i < records.size(); i += 500) {
        fs.add(store.write(records.subList(i, Math.min(records.size(), i + 500))).toCompletableFuture());
      }
      store.flush();
      assertThat(fs.stream().flatMap(x -> x.join().stream())).allMatch(o -> o == Outcome.DELIVERED);
    }
    try (ElasticsearchSink index = new ElasticsearchSink(cfg.indexer(), new SimpleMeterRegistry())) {
      index.prepare(Duration.ofSeconds(60));
      @SuppressWarnings("unchecked")
      List<SinkRecord>[] pending = new List[] {records};
      // what the runtime does with Retry outcomes (a bulk creating an index can outlast the timeout on a busy machine)
      await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).until(() -> {
        List<SinkRecord> again = new ArrayList<>();
        for (int i = 0; i < pending[0].size(); i += 1000) {
          List<SinkRecord> b = pending[0].subList(i, Math.min(pending[0].size(), i + 1000));
          List<Outcome> out = index.write(b).toCompletableFuture().join();
          assertThat(out).noneMatch(o -> o instanceof Outcome.Reject);
          for (int k = 0; k < b.size(); k++) {
            if (out.get(k) != Outcome.DELIVERED) {
              again.add(b.get(k));
            }
          }
        }
        pending[0] = again;
        return again.isEmpty();
      });
    }
    return f;
  }

  /** Every document of {@code index} by id, {@code ingestTs} left out: it says when a document reached the engine. */
  static Map<String, JsonNode> documents(String index) throws Exception {
    es.sendSync("POST", "/" + index + "/_refresh", null);
    JsonNode r = JSON.readTree(es.sendSync("POST", "/" + index + "/_search?size=10000", "{\"query\":{\"match_all\":{}}}").body());
    Map<String, JsonNode> out = new HashMap<>();
    for (JsonNode hit : r.path("hits").path("hits")) {
      ObjectNode src = (ObjectNode) hit.path("_source").deepCopy();
      src.remove("ingestTs");
      assertThat(out.put(hit.path("_id").asText(), src)).as("id %s twice", hit.path("_id").asText()).isNull();
    }
    return out;
  }

  static long count(String index) throws Exception {
    es.sendSync("POST", "/" + index + "/_refresh", null);
    return JSON.readTree(es.sendSync("GET", "/" + index + "/_count", null).body()).path("count").asLong();
  }

  static String prefix(Path config) {
    String n = config.getFileName().toString();
    return n.substring(0, n.length() - ".yaml".length());
  }

  @Test
  void aDeletedDayIsRebuiltExactlyAndASecondRunDoublesNothing() throws Exception {
    long t0 = System.nanoTime();
    List<Telemetry> readings = readings();
    Path f = pipelineWrote(readings);
    String p = prefix(f);
    String day = p + "-2026.12.06";
    Map<String, JsonNode> indexed = documents(day);
    Map<String, JsonNode> otherDay = documents(p + "-2026.12.05");
    Map<String, JsonNode> latest = documents(p + "-latest");
    long onThe6th = readings.stream().filter(t -> t.ts().toString().startsWith("2026-12-06")).count();
    assertThat(indexed).hasSize((int) onThe6th);
    assertThat(otherDay).hasSize(readings.size() - (int) onThe6th);

    CliTest.Result agree = CliTest.run("audit", "--config", f.toString(), "--json");
    assertThat(agree.exit()).as(agree.out() + agree.err()).isZero();
    assertThat(JSON.readTree(agree.out()).path("inStore").asLong()).isEqualTo(readings.size());

    assertThat(es.sendSync("DELETE", "/" + day, null).status()).isEqualTo(200);
    // without a ledger the sinks are each other's check: the audit finds the day missing from search and says what mends it
    CliTest.Result gap = CliTest.run("audit", "--config", f.toString(), "--since", "2026-12-06", "--until", "2026-12-07", "--json");
    assertThat(gap.exit()).isEqualTo(1);
    JsonNode disagreement = JSON.readTree(gap.out());
    assertThat(disagreement.path("onlyInStore").asLong()).isEqualTo(onThe6th);
    assertThat(disagreement.path("onlyInSearch").asLong()).isZero();
    assertThat(disagreement.path("verdict").asText()).contains("iotpipe reindex --config").contains("--since 2026-12-06 --until 2026-12-07");

    CliTest.Result r = CliTest.run("reindex", "--config", f.toString(), "--since", "2026-12-06", "--until", "2026-12-07", "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode summary = JSON.readTree(r.out());
    assertThat(summary.path("read").asLong()).isEqualTo(onThe6th);
    assertThat(summary.path("written").asLong()).isEqualTo(onThe6th);
    assertThat(summary.path("different").asLong()).isZero();
    assertThat(summary.path("parts").asInt()).isEqualTo(4);
    assertThat(documents(day)).as("the rebuilt day holds the very documents the indexer had written").isEqualTo(indexed);
    assertThat(documents(p + "-2026.12.05")).isEqualTo(otherDay);
    assertThat(documents(p + "-latest")).as("latest state not rolled back").isEqualTo(latest);
    CliTest.Result mended = CliTest.run("audit", "--config", f.toString(), "--json");
    assertThat(mended.exit()).as(mended.out()).isZero();
    assertThat(JSON.readTree(mended.out()).path("agree").asBoolean()).isTrue();

    // the whole store again, over live indices: every reading is found present, nothing is written twice
    CliTest.Result again = CliTest.run("reindex", "--config", f.toString(), "--json");
    assertThat(again.exit()).as(again.err()).isZero();
    JsonNode s2 = JSON.readTree(again.out());
    assertThat(s2.path("read").asLong()).isEqualTo(readings.size());
    assertThat(s2.path("written").asLong()).isZero();
    assertThat(s2.path("present").asLong()).isEqualTo(readings.size());
    assertThat(count(p + "-2*")).isEqualTo(readings.size());
    assertThat(documents(day)).isEqualTo(indexed);

    // beside the live indices: the same documents under new index names, the live ones untouched
    CliTest.Result beside = CliTest.run("reindex", "--config", f.toString(), "--index-suffix", "v2");
    assertThat(beside.exit()).as(beside.err()).isZero();
    System.err.println("ReindexIT: " + beside.err().strip() + "\n" + beside.out().strip());
    assertThat(beside.err()).contains("reindex: 5 hours, 3,200 readings from ").contains(" into " + p + "-*-v2");
    assertThat(beside.out()).startsWith("reindexed 5 hours (0 skipped as done) into " + p + "-*-v2 in ")
        .contains("3,200 readings read, 3,200 written, 0 already indexed, 0 different (indexed one kept), 0 refused");
    assertThat(documents(day + "-v2")).isEqualTo(indexed);
    assertThat(documents(p + "-latest-v2")).isEqualTo(latest);
    assertThat(count(p + "-2*-v2")).isEqualTo(readings.size());
    System.err.printf("ReindexIT: rebuild, re-run and rebuild beside in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  void aRebuildKilledHalfwayResumesFromItsCheckpoint() throws Exception {
    long t0 = System.nanoTime();
    List<Telemetry> readings = readings();
    Path f = pipelineWrote(readings);
    String p = prefix(f);
    Map<String, JsonNode> indexed = documents(p + "-2*");
    assertThat(es.sendSync("DELETE", "/" + p + "-2*", null).status()).isEqualTo(200);
    Path checkpoint = dir.resolve(p + "-checkpoint.json");
    // a separate JVM, slowed down so it is killed between hours
    Process rebuild = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "io.iotpipe.cli.Main", "reindex", "--config", f.toString(), "--checkpoint", checkpoint.toString(), "--max-rate", "400")
        .redirectErrorStream(true).redirectOutput(dir.resolve(p + "-killed.log").toFile()).start();
    try {
      await().atMost(Duration.ofMinutes(2)).until(() -> Files.exists(checkpoint)
          && JSON.readTree(checkpoint.toFile()).path("done").size() >= 2);
    } finally {
      rebuild.destroyForcibly();
      rebuild.waitFor();
    }
    int doneBeforeKill = JSON.readTree(checkpoint.toFile()).path("done").size();
    assertThat(doneBeforeKill).as("killed halfway").isLessThan(5);
    CliTest.Result r = CliTest.run("reindex", "--config", f.toString(), "--checkpoint", checkpoint.toString(), "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode summary = JSON.readTree(r.out());
    assertThat(summary.path("skipped").asInt()).isEqualTo(doneBeforeKill);
    assertThat(summary.path("parts").asInt()).isEqualTo(5 - doneBeforeKill);
    assertThat(summary.path("different").asLong()).isZero();
    assertThat(documents(p + "-2*")).as("every reading exactly once, as the indexer wrote it").isEqualTo(indexed);
    System.err.printf("ReindexIT: killed and resumed in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  /** One reading per device with sequence number {@code seq}, on the 6th (its index is the one switched under load). */
  static List<Telemetry> batch(long seq) {
    List<Telemetry> out = new ArrayList<>();
    for (int d = 0; d < DEVICES; d++) {
      out.add(new Telemetry("ch-" + d, seq, Instant.parse("2026-12-06T05:00:00Z").plusSeconds(seq).plusMillis(d), "site-" + d % 3,
          "eu-west", "CHARGING", null, Map.of("powerKw", 7.0 + d, "soc", 50.0)));
    }
    return out;
  }

  static volatile String lastRetry;

  /** Writes through the indexer's sink until every reading is delivered, retrying what it answers Retry for (as the runtime does). */
  static void indexerWrites(ElasticsearchSink sink, List<Telemetry> readings) {
    @SuppressWarnings("unchecked")
    List<SinkRecord>[] pending = new List[] {readings.stream().map(t -> new SinkRecord(t, new byte[0], "iotpipe.index.p0", 0)).toList()};
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100)).until(() -> {
      List<Outcome> out = sink.write(pending[0]).toCompletableFuture().join();
      assertThat(out).noneMatch(o -> o instanceof Outcome.Reject);
      List<SinkRecord> again = new ArrayList<>();
      for (int k = 0; k < out.size(); k++) {
        if (out.get(k) != Outcome.DELIVERED) {
          again.add(pending[0].get(k));
          lastRetry = out.get(k).toString();
        }
      }
      pending[0] = again;
      return again.isEmpty();
    });
  }

  /** The indices {@code name} resolves to (itself when it is an index). */
  static List<String> resolves(String name) throws Exception {
    List<String> out = new ArrayList<>();
    JSON.readTree(es.sendSync("GET", "/" + name + "/_alias", null).body()).fieldNames().forEachRemaining(out::add);
    return out;
  }

  @Test
  void aSwitchPointsTheLiveNamesAtTheRebuildLosingNothingTheStoreLacksAndASecondOneWorksUnderWrites() throws Exception {
    long t0 = System.nanoTime();
    // 20 readings per device across both days: the switch's cost is per index, not per reading
    List<Telemetry> readings = readings().subList(0, 20 * DEVICES);
    Path f = pipelineWrote(readings);
    String p = prefix(f);
    IotpipeConfig cfg = IotpipeConfig.load(f, k -> null, null);
    java.util.Set<String> expected = new java.util.TreeSet<>(readings.stream().map(Telemetry::id).toList());
    try (ElasticsearchSink live = new ElasticsearchSink(cfg.indexer(), new SimpleMeterRegistry())) {
      live.prepare(Duration.ofSeconds(30));
      // the live indexer is ahead of the store (it lags by its roll age): readings only the live indices hold
      List<Telemetry> notStored = batch(81);
      indexerWrites(live, notStored);
      notStored.forEach(t -> expected.add(t.id()));
      Map<String, JsonNode> before = documents(p + "-20*");
      Map<String, JsonNode> latestBefore = documents(p + "-latest");
      assertThat(before.keySet()).isEqualTo(expected);

      CliTest.Result r = CliTest.run("reindex", "--config", f.toString(), "--index-suffix", "v2", "--switch", "--json");
      assertThat(r.exit()).as(r.err()).isZero();
      System.err.println("ReindexIT: " + r.err().strip());
      JsonNode switched = JSON.readTree(r.out()).path("switched");
      assertThat(switched).hasSize(3); // two days and the latest state
      assertThat(switched.get(1).path("live").asText()).isEqualTo(p + "-2026.12.06");
      assertThat(switched.get(1).path("copied").asLong()).as("the readings the store lacked, copied from the old index").isEqualTo(DEVICES);
      assertThat(r.err()).contains("switch: " + p + "-2026.12.06 -> " + p + "-2026.12.06-v2, " + DEVICES + " documents only "
          + p + "-2026.12.06 held copied, " + p + "-2026.12.06 removed");
      assertThat(resolves(p + "-2026.12.06")).containsExactly(p + "-2026.12.06-v2");
      assertThat(resolves(p + "-2026.12.05")).containsExactly(p + "-2026.12.05-v2");
      assertThat(resolves(p + "-latest")).containsExactly(p + "-latest-v2");
      // through the live names and the pattern: every reading once (documents() fails on an id seen twice), the store's
      // and the ones it lacked, with the content the indexer wrote; the pattern sees no old copy beside the new one
      assertThat(documents(p + "-20*")).isEqualTo(before);
      assertThat(count(p + "-*")).isEqualTo(before.size() + latestBefore.size());
      assertThat(documents(p + "-latest")).as("the state of seq 81, which the store lacks, kept").isEqualTo(latestBefore);

      // the live indexer goes on under the same names: its index setup and its bulk writes, through the aliases
      try (ElasticsearchSink restarted = new ElasticsearchSink(cfg.indexer(), new SimpleMeterRegistry())) {
        restarted.prepare(Duration.ofSeconds(30));
        List<Telemetry> after = batch(82);
        indexerWrites(restarted, after);
        after.forEach(t -> expected.add(t.id()));
        assertThat(documents(p + "-2026.12.06-v2").keySet()).containsAll(after.stream().map(Telemetry::id).toList());
        assertThat(documents(p + "-latest").get("ch-3").path("seq").asLong()).isEqualTo(82);
      }

      // a second switch over the aliases, while the live indexer writes into the day being switched
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong(100);
      // its own thread: blocked in the common pool, the writer would starve the HTTP client's completions (2 cores: 1 thread)
      java.util.concurrent.ExecutorService writerThread = java.util.concurrent.Executors.newSingleThreadExecutor();
      java.util.concurrent.CompletableFuture<Void> writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
        while (!stop.get() && written.get() < 1100) { // 4 devices a batch: documents() reads 10,000 at most
          indexerWrites(live, batch(written.get()).subList(0, 4));
          written.incrementAndGet();
        }
      }, writerThread);
      // and a search through the pattern meanwhile: never fewer documents than before (no gap), never more than were
      // written (no reading counted twice: the rebuild is hidden until switched, the old copy gone with the switch)
      long baseline = count(p + "-20*");
      List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
      java.util.concurrent.atomic.AtomicLong probes = new java.util.concurrent.atomic.AtomicLong();
      // every 20 ms, as a dashboard refreshing often would: a tight loop would slow the engine the switch runs on
      java.util.concurrent.ScheduledExecutorService searcherThread = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
      java.util.concurrent.ScheduledFuture<?> searcher = searcherThread.scheduleWithFixedDelay(() -> {
        try {
          // no refresh: what the switch must keep visible is refreshed already; the writer's newest may show later
          String answer = es.sendSync("GET", "/" + p + "-20*/_count", null).text();
          long c = JSON.readTree(answer).path("count").asLong();
          long most = baseline + (written.get() - 100 + 1) * 4;
          if (c < baseline || c > most) {
            wrong.add(c + " documents through " + p + "-20* (between " + baseline + " and " + most + "): " + answer);
          }
          probes.incrementAndGet();
        } catch (Exception e) {
          wrong.add(e.toString());
        }
      }, 0, 20, java.util.concurrent.TimeUnit.MILLISECONDS);
      CliTest.Result r3 = CliTest.run("reindex", "--config", f.toString(), "--index-suffix", "v3", "--switch", "--switch-grace", "1s", "--json");
      stop.set(true);
      searcher.cancel(false);
      searcherThread.shutdown();
      assertThat(searcherThread.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      System.err.println("ReindexIT: " + probes.get() + " searches through the pattern during the second switch");
      assertThat(wrong).as("searches during the switch").isEmpty();
      assertThat(probes.get()).isPositive();
      assertThat(es.sendSync("GET", "/_index_template/" + p + "-rebuild-v3", null).status()).as("the hiding template removed").isEqualTo(404);
      System.err.println("ReindexIT: second switch: " + r3.err().strip() + "\nReindexIT: last retry " + lastRetry);
      writer.join();
      writerThread.shutdown();
      assertThat(r3.exit()).as(r3.err()).isZero();
      System.err.println("ReindexIT: " + r3.err().strip() + "\nReindexIT: " + (written.get() - 100) + " batches written during the second switch");
      for (long s = 100; s < written.get(); s++) {
        batch(s).subList(0, 4).forEach(t -> expected.add(t.id()));
      }
      assertThat(resolves(p + "-2026.12.06")).containsExactly(p + "-2026.12.06-v3");
      assertThat(resolves(p + "-latest")).containsExactly(p + "-latest-v3");
      assertThat(es.sendSync("HEAD", "/" + p + "-2026.12.06-v2", null).status()).as("the first rebuild removed").isEqualTo(404);
      Map<String, JsonNode> all = documents(p + "-20*");
      assertThat(all.keySet()).as("every reading once, also those written during the switch").isEqualTo(expected);
      assertThat(count(p + "-2026.12.06") + count(p + "-2026.12.05")).isEqualTo(expected.size());
      assertThat(documents(p + "-latest").get("ch-3").path("seq").asLong()).isEqualTo(Math.max(82, written.get() - 1));
    }
    System.err.printf("ReindexIT: switch, writes through the aliases and a second switch in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  void aSwitchNamesTheFixAndDeletesNothingItDidNotBuild() throws Exception {
    long t0 = System.nanoTime();
    CliTest.Result noSuffix = CliTest.run("reindex", "--config", config(os.httpUri().toString()).toString(), "--switch");
    assertThat(noSuffix.exit()).isEqualTo(2);
    assertThat(noSuffix.err()).contains("--switch needs --index-suffix S");

    Path f = pipelineWrote(batch(1));
    String p = prefix(f);
    CliTest.Result empty = CliTest.run("reindex", "--config", f.toString(), "--since", "2026-01-01", "--until", "2026-01-02",
        "--index-suffix", "v2", "--switch");
    assertThat(empty.exit()).isEqualTo(1);
    assertThat(empty.err()).contains("the store holds no readings between --since and --until").contains("the live names are unchanged");

    // the day's live name is an operator's alias of an archive: a switch would delete the archive
    assertThat(es.sendSync("DELETE", "/" + p + "-2026.12.06", null).status()).isEqualTo(200);
    assertThat(es.sendSync("PUT", "/" + p + "-archive", null).status()).isEqualTo(200);
    assertThat(es.sendSync("POST", "/_aliases", "{\"actions\":[{\"add\":{\"index\":\"" + p + "-archive\",\"alias\":\"" + p
        + "-2026.12.06\"}}]}").status()).isEqualTo(200);
    CliTest.Result refused = CliTest.run("reindex", "--config", f.toString(), "--index-suffix", "v2", "--switch");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains(p + "-2026.12.06 is already an alias of " + p + "-archive, which is not a rebuild of it")
        .contains("remove the alias");
    assertThat(resolves(p + "-2026.12.06")).containsExactly(p + "-archive");

    // what the switch relies on: an alias found by a pattern reaches its index even while that index is still hidden
    assertThat(es.sendSync("PUT", "/" + p + "-hidden", "{\"settings\":{\"index.hidden\":true}}").status()).isEqualTo(200);
    assertThat(es.sendSync("PUT", "/" + p + "-hidden/_doc/1?refresh=true", "{\"deviceId\":\"x\"}").status()).isEqualTo(201);
    assertThat(count(p + "-hid*")).isZero();
    assertThat(es.sendSync("POST", "/_aliases", "{\"actions\":[{\"add\":{\"index\":\"" + p + "-hidden\",\"alias\":\"" + p
        + "-hidalias\"}}]}").status()).isEqualTo(200);
    assertThat(count(p + "-hid*")).isEqualTo(1);
    System.err.printf("ReindexIT: switch refusals in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  void anUnreachableEngineOrStoreIsNamedWithTheFix() throws Exception {
    Path down = config("http://127.0.0.1:1");
    Files.createDirectories(dir.resolve(prefix(down) + "-store"));
    CliTest.Result r = CliTest.run("reindex", "--config", down.toString(), "--retry-for", "1s");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("cannot reach Elasticsearch/OpenSearch").contains("check indexer.urls");

    Path noStore = config(os.httpUri().toString());
    CliTest.Result s = CliTest.run("reindex", "--config", noStore.toString());
    assertThat(s.exit()).isEqualTo(1);
    assertThat(s.err()).contains("does not exist").contains("check storage.dir");
  }
}
