package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.opensearch.EmbeddedOpenSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search sink against a real OpenSearch node. */
class ElasticsearchSinkIT {

  @TempDir
  static Path dir;
  static EmbeddedOpenSearch os;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() {
    os = EmbeddedOpenSearch.start(dir);
  }

  @AfterAll
  static void stop() {
    os.close();
  }

  static IndexerConfig config(String prefix) {
    return config(prefix, os.httpUri().toString());
  }

  static IndexerConfig config(String prefix, String urls) {
    return config(prefix, urls, "", k -> null);
  }

  /** {@code extra}: more indexer keys, one per line, indented by two spaces. */
  static IndexerConfig config(String prefix, String urls, String extra, java.util.function.Function<String, String> env) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        indexer:
          urls: [%s]
          indexPrefix: %s
          maxInFlight: 2
          requestTimeout: 5s
        %s
        """.formatted(urls, prefix, extra), env).indexer();
  }

  static List<SinkRecord> records(String device, long fromSeq, int n, Instant ts) {
    List<SinkRecord> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SinkRecord(new Telemetry(device, fromSeq + i, ts.plusSeconds(i), "site-1", "eu-west", "CHARGING", null,
          Map.of("powerKw", 11.0 + i % 7, "soc", 50.0)), new byte[0], "q", 0));
    }
    return out;
  }

  static JsonNode get(String path) throws Exception {
    return JSON.readTree(send("GET", path, null).body());
  }

  static EsClient.Response send(String method, String path, String json) {
    try (EsClient c = new EsClient(List.of(os.httpUri()), null, null, Duration.ofSeconds(10))) {
      return c.sendSync(method, path, json);
    }
  }

  static String prefix() {
    return "t" + UUID.randomUUID().toString().substring(0, 8);
  }

  static List<Outcome> write(ElasticsearchSink sink, List<SinkRecord> batch) {
    return sink.write(batch).toCompletableFuture().join();
  }

  static long count(String index) throws Exception {
    get("/" + index + "/_refresh");
    return get("/" + index + "/_count").path("count").asLong();
  }

  @Test
  void tenThousandRecordsBecomeTenThousandDocumentsAndRewritesDoNotDuplicate() throws Exception {
    String prefix = prefix();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (ElasticsearchSink sink = new ElasticsearchSink(config(prefix), registry)) {
      List<List<SinkRecord>> batches = new ArrayList<>();
      for (int d = 0; d < 10; d++) {
        for (int b = 0; b < 10; b++) {
          batches.add(records("dev-" + d, b * 100L + 1, 100, Instant.parse("2026-11-20T10:00:00Z").plus(Duration.ofHours(b * 6L))));
        }
      }
      for (int round = 0; round < 2; round++) {
        // All batches submitted before any is awaited: maxInFlight bulks on the wire at once, as the consumer does.
        List<CompletableFuture<List<Outcome>>> pending = new ArrayList<>();
        for (List<SinkRecord> batch : batches) {
          pending.add(sink.write(batch).toCompletableFuture());
        }
        for (CompletableFuture<List<Outcome>> p : pending) {
          assertThat(p.join()).hasSize(100).containsOnly(Outcome.DELIVERED);
        }
        // The second round is a redelivery of everything (a crash before the acks): same ids, overwritten.
        assertThat(count(prefix + "-2*")).isEqualTo(10_000);
      }
      assertThat(get("/_cat/indices/" + prefix + "-2*?format=json").size()).as("daily indices by event time").isEqualTo(3);
      JsonNode mapping = get("/" + prefix + "-2026.11.20/_mapping");
      JsonNode props = mapping.path(prefix + "-2026.11.20").path("mappings").path("properties");
      assertThat(props.path("ts").path("type").asText()).isEqualTo("date");
      assertThat(props.path("ingestTs").path("type").asText()).isEqualTo("date");
      assertThat(props.path("deviceId").path("type").asText()).isEqualTo("keyword");
      assertThat(props.path("seq").path("type").asText()).isEqualTo("long");
      assertThat(props.path("metrics").path("properties").path("powerKw").path("type").asText()).isEqualTo("double");
      assertThat(registry.get("iotpipe.es.bulk.requests").counter().count()).isEqualTo(200);
      assertThat(registry.get("iotpipe.es.bulk.items").tag("outcome", "delivered").counter().count()).isEqualTo(20_000);
      assertThat(registry.get("iotpipe.es.bulk.latency").timer().count()).isEqualTo(200);
      // The redelivered round met its own documents (create: 409) and found the same content in every one.
      assertThat(registry.get("iotpipe.es.conflicts").tag("result", "same-content").counter().count()).isEqualTo(10_000);
      assertThat(registry.get("iotpipe.es.conflicts").tag("result", "different-content").counter().count()).isZero();
    }
  }

  @Test
  void latestStateKeepsTheHighestSeqWhenBatchesArriveOutOfOrder() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      Instant ts = Instant.parse("2026-11-20T10:00:00Z");
      assertThat(write(sink, records("late-dev", 41, 10, ts))).containsOnly(Outcome.DELIVERED);
      // Older readings arrive afterwards (redelivery, a device that buffered): they are indexed as events...
      assertThat(write(sink, records("late-dev", 1, 20, ts))).containsOnly(Outcome.DELIVERED);
      List<SinkRecord> shuffled = new ArrayList<>(records("other-dev", 1, 30, ts));
      Collections.shuffle(shuffled);
      assertThat(write(sink, shuffled)).containsOnly(Outcome.DELIVERED);
      get("/" + cfg.latestIndex() + "/_refresh");
      // ...but the device's latest state stays at seq 50; within a batch the highest seq wins whatever the order.
      assertThat(get("/" + cfg.latestIndex() + "/_doc/late-dev").path("_source").path("seq").asLong()).isEqualTo(50);
      assertThat(get("/" + cfg.latestIndex() + "/_doc/other-dev").path("_source").path("seq").asLong()).isEqualTo(30);
      assertThat(count(cfg.latestIndex())).isEqualTo(2);
      assertThat(count(prefix + "-2*")).isEqualTo(60);
    }
  }

  @Test
  void mappingConflictsRejectOnlyTheBadDocumentsWithTheEnginesReason() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      sink.prepare();
      // Someone created two days' indices by hand: one with strict metrics, one where status is a number.
      assertThat(send("PUT", "/" + prefix + "-2020.01.01",
          "{\"mappings\":{\"properties\":{\"metrics\":{\"type\":\"object\",\"dynamic\":\"strict\"}}}}").status()).isEqualTo(200);
      assertThat(send("PUT", "/" + prefix + "-2020.01.02",
          "{\"mappings\":{\"properties\":{\"status\":{\"type\":\"long\"}}}}").status()).isEqualTo(200);
      List<SinkRecord> batch = new ArrayList<>(records("good", 1, 5, Instant.parse("2026-11-20T10:00:00Z")));
      batch.add(2, records("strict", 1, 1, Instant.parse("2020-01-01T10:00:00Z")).get(0));
      batch.add(4, records("typed", 1, 1, Instant.parse("2020-01-02T10:00:00Z")).get(0));
      // JSON has no NaN: caught before sending, the rest of the bulk unaffected.
      batch.add(new SinkRecord(new Telemetry("nan-dev", 1, Instant.parse("2026-11-20T10:00:00Z"), "s", "r", "IDLE", null,
          Map.of("powerKw", Double.NaN)), new byte[0], "q", 0));
      List<Outcome> out = write(sink, batch);
      assertThat(out.get(2)).isInstanceOfSatisfying(Outcome.Reject.class,
          r -> assertThat(r.reason()).startsWith("strict_dynamic_mapping_exception: ").contains("within [metrics]"));
      assertThat(out.get(4)).isInstanceOfSatisfying(Outcome.Reject.class,
          r -> assertThat(r.reason()).containsPattern("^(mapper|document)_parsing_exception: ").contains("[status]"));
      assertThat(out.get(7)).isInstanceOfSatisfying(Outcome.Reject.class, r -> assertThat(r.reason()).contains("powerKw is NaN"));
      assertThat(out).hasSize(8).filteredOn(o -> o == Outcome.DELIVERED).hasSize(5);
      assertThat(count(prefix + "-2026*")).isEqualTo(5);
    }
  }

  @Test
  void aDeadUrlInTheListIsSkipped() throws Exception {
    String prefix = prefix();
    int deadPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (ElasticsearchSink sink = new ElasticsearchSink(config(prefix, "http://127.0.0.1:" + deadPort + ", " + os.httpUri()),
        new SimpleMeterRegistry())) {
      for (int b = 0; b < 4; b++) {
        assertThat(write(sink, records("dev", b * 10L + 1, 10, Instant.parse("2026-11-20T10:00:00Z")))).containsOnly(Outcome.DELIVERED);
      }
      assertThat(count(prefix + "-2*")).isEqualTo(40);
    }
  }

  @Test
  void anOutageGivesRetriesAndTheSameSinkRecoversWhenTheEngineIsBack() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry());
         ElasticsearchSink startedDuringOutage = new ElasticsearchSink(config(prefix()), new SimpleMeterRegistry())) {
      Instant ts = Instant.parse("2026-11-20T10:00:00Z");
      assertThat(write(sink, records("dev", 1, 50, ts))).containsOnly(Outcome.DELIVERED);
      os.stop();
      List<SinkRecord> failed = records("dev", 51, 50, ts);
      assertThat(write(sink, failed)).hasSize(50).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("unreachable").contains("connection refused")));
      assertThat(write(startedDuringOutage, failed)).hasSize(50).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("not ready")));
      // An indexer starting while the engine is down waits for it (with backoff) instead of failing.
      CompletableFuture<IndexSetup.Engine> setup = CompletableFuture.supplyAsync(() -> startedDuringOutage.prepare(Duration.ofSeconds(90)),
          r -> Thread.ofPlatform().daemon().start(r));
      os.restart();
      assertThat(os.httpUri()).isEqualTo(cfg.urls().get(0));
      assertThat(setup.join().distribution()).isEqualTo("opensearch");
      assertThat(write(sink, failed)).containsOnly(Outcome.DELIVERED);
      assertThat(count(prefix + "-2*")).isEqualTo(100);
    }
  }

  @Test
  void setupIsIdempotentAndTheLatestIndexIsOutsideTheEventPattern() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    try (ElasticsearchSink a = new ElasticsearchSink(cfg, new SimpleMeterRegistry());
         ElasticsearchSink b = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      a.prepare();
      assertThat(b.prepare(Duration.ofSeconds(5)).version()).startsWith("3.");
      assertThat(write(b, records("dev", 1, 3, Instant.parse("2026-11-20T10:00:00Z")))).containsOnly(Outcome.DELIVERED);
      assertThat(count(prefix + "-2*")).isEqualTo(3);
      assertThat(count(cfg.latestIndex())).isEqualTo(1);
      JsonNode latest = get("/" + cfg.latestIndex() + "/_mapping").path(cfg.latestIndex()).path("mappings").path("properties");
      assertThat(latest.path("ts").path("type").asText()).isEqualTo("date");
      assertThat(latest.path("metrics").path("properties").path("powerKw").path("type").asText()).isEqualTo("double");
    }
  }

  static List<SinkRecord> ofTenant(List<SinkRecord> records, String tenant) {
    return records.stream().map(r -> new SinkRecord(r.telemetry().withTenant(tenant), r.body(), r.source(), r.publishedAt())).toList();
  }

  @Test
  void aTenantsReadingsLandInItsOwnEventAndLatestStateIndicesWithTheIndexersMappings() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    Instant ts = Instant.parse("2026-11-20T10:00:00Z");
    List<SinkRecord> batch = new ArrayList<>(ofTenant(records("acme-dev", 1, 5, ts), "acme"));
    batch.addAll(ofTenant(records("globex-dev", 1, 4, ts), "globex"));
    batch.addAll(records("plain-dev", 1, 3, ts));
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      assertThat(write(sink, batch)).containsOnly(Outcome.DELIVERED);
      assertThat(write(sink, batch)).as("a redelivery finds each document in its tenant's index").containsOnly(Outcome.DELIVERED);
    }
    assertThat(count(prefix + "-2026.11.20.tenant-acme")).isEqualTo(5);
    assertThat(count(prefix + "-2026.11.20.tenant-globex")).isEqualTo(4);
    assertThat(count(prefix + "-2026.11.20")).as("no tenant: today's index").isEqualTo(3);
    assertThat(count(prefix + "-2*")).as("the audit's and reindex's pattern sees every tenant").isEqualTo(12);
    assertThat(count(cfg.latestIndex() + ".tenant-acme")).isEqualTo(1);
    assertThat(count(cfg.latestIndex() + ".tenant-globex")).isEqualTo(1);
    assertThat(count(cfg.latestIndex())).isEqualTo(1);
    String latest = cfg.latestIndex() + ".tenant-acme";
    JsonNode p = get("/" + latest + "/_mapping").path(latest).path("mappings").path("properties");
    assertThat(p.path("ts").path("type").asText()).as("the tenants' latest-state template").isEqualTo("date");
    assertThat(p.path("tenant").path("type").asText()).isEqualTo("keyword");
    assertThat(p.path("metrics").path("properties").path("powerKw").path("type").asText()).isEqualTo("double");
    assertThat(get("/" + latest + "/_doc/acme-dev").path("_source").path("tenant").asText()).isEqualTo("acme");
  }

  static SinkRecord reading(String device, long seq, double powerKw) {
    return new SinkRecord(new Telemetry(device, seq, Instant.parse("2026-11-20T10:00:00Z").plusSeconds(seq), "site-1", "eu-west",
        "CHARGING", null, Map.of("powerKw", powerKw, "soc", 50.0)), new byte[0], "q", 0);
  }

  @Test
  void aSecondReadingWithAnIndexedIdButDifferentContentIsRejectedAndTheFirstIsKept() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg = config(prefix);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, registry)) {
      assertThat(write(sink, List.of(reading("dup", 1, 7.0), reading("dup", 2, 7.0), reading("dup", 3, 7.0))))
          .containsOnly(Outcome.DELIVERED);
      // seq 2 comes again with another value (a spoofer, a device bug); seq 1 and 3 come again unchanged (a redelivery).
      List<Outcome> again = write(sink, List.of(reading("dup", 1, 7.0), reading("dup", 2, 99.0), reading("dup", 3, 7.0)));
      assertThat(again.get(0)).isEqualTo(Outcome.DELIVERED);
      assertThat(again.get(2)).isEqualTo(Outcome.DELIVERED);
      assertThat(again.get(1)).isInstanceOfSatisfying(Outcome.Reject.class, r -> assertThat(r.reason())
          .startsWith("(deviceId dup, seq 2) already indexed with different content; kept the first").contains("metrics.powerKw"));
      // Both in one batch: the first wins there too, and an exact duplicate inside a batch is simply delivered.
      List<Outcome> inOne = write(sink, List.of(reading("dup", 10, 1.0), reading("dup", 10, 2.0), reading("dup", 11, 5.0),
          reading("dup", 11, 5.0)));
      assertThat(inOne.get(0)).isEqualTo(Outcome.DELIVERED);
      assertThat(inOne.get(1)).isInstanceOf(Outcome.Reject.class);
      assertThat(inOne.get(2)).isEqualTo(Outcome.DELIVERED);
      assertThat(inOne.get(3)).isEqualTo(Outcome.DELIVERED);

      assertThat(count(prefix + "-2*")).as("one document per (deviceId, seq)").isEqualTo(5);
      String index = new DocumentEncoder(cfg).indexFor(reading("dup", 2, 0).telemetry().ts());
      assertThat(get("/" + index + "/_doc/dup:2").path("_source").path("metrics").path("powerKw").asDouble()).isEqualTo(7.0);
      assertThat(get("/" + index + "/_doc/dup:10").path("_source").path("metrics").path("powerKw").asDouble()).isEqualTo(1.0);
      get("/" + cfg.latestIndex() + "/_refresh");
      assertThat(get("/" + cfg.latestIndex() + "/_doc/dup").path("_source").path("seq").asLong()).isEqualTo(11);
      assertThat(registry.get("iotpipe.es.conflicts").tag("result", "different-content").counter().count()).isEqualTo(2);
    }
  }

  @Test
  void indexesOverHttpsWithBasicAuthAndNeverPrintsThePassword() throws Exception {
    String password = "pw-" + UUID.randomUUID();
    String basic = java.util.Base64.getEncoder().encodeToString(("indexer:" + password).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    java.util.function.Function<String, String> env = Map.of("ES_PW", password, "WRONG_PW", password + "x")::get;
    TestPki pki = TestPki.create(dir, "search");
    TestPki other = TestPki.create(dir, "other");
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    java.io.PrintStream err = System.err;
    // slf4j-simple writes to whatever System.err is at the time: everything the sink logs lands here too.
    System.setErr(new java.io.PrintStream(tee(err, captured), true));
    List<String> said = new ArrayList<>();
    try (TlsAuthProxy proxy = TlsAuthProxy.start(pki.server, os.httpUri(), "indexer", password)) {
      String prefix = prefix();
      String tls = "  caFile: " + pki.caPem + "\n  consumer: {degradedAfter: 0ms}\n";
      IndexerConfig good = config(prefix, proxy.uri().toString(), tls + "  username: indexer\n  password: ${ES_PW}", env);
      try (ElasticsearchSink sink = new ElasticsearchSink(good, new SimpleMeterRegistry())) {
        assertThat(sink.prepare(Duration.ofSeconds(10)).distribution()).isEqualTo("opensearch");
        assertThat(write(sink, records("tls-dev", 1, 20, Instant.parse("2026-11-20T10:00:00Z")))).containsOnly(Outcome.DELIVERED);
        assertThat(write(sink, records("tls-dev", 1, 20, Instant.parse("2026-11-20T10:00:00Z")))).as("redelivery through TLS")
            .containsOnly(Outcome.DELIVERED);
        assertThat(sink.health()).isEqualTo(io.iotpipe.sink.SinkHealth.UP);
      }
      assertThat(count(prefix + "-2*")).isEqualTo(20);
      assertThat(proxy.forwarded.get()).isPositive();

      IndexerConfig wrongCa = config(prefix(), proxy.uri().toString(),
          "  caFile: " + other.caPem + "\n  consumer: {degradedAfter: 0ms}\n  username: indexer\n  password: ${ES_PW}", env);
      try (ElasticsearchSink sink = new ElasticsearchSink(wrongCa, new SimpleMeterRegistry())) {
        List<Outcome> out = write(sink, records("tls-dev", 100, 3, Instant.parse("2026-11-20T10:00:00Z")));
        assertThat(out).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> {
          said.add(r.reason());
          assertThat(r.reason()).contains("certificate is not trusted").contains("indexer.caFile (" + other.caPem + ")");
        }));
        assertThat(sink.health().state()).isEqualTo(io.iotpipe.sink.SinkHealth.State.DEGRADED);
        assertThat(sink.health().reason()).contains("search engine failing since").contains("not trusted").contains("indexer.caFile");
        said.add(sink.health().reason());
        // Waiting does not make a certificate trusted: the start-up wait gives up at once with the reason.
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> sink.prepare(Duration.ofSeconds(60))))
            .isInstanceOf(IllegalStateException.class).hasMessageContaining("not trusted");
      }

      IndexerConfig wrongPassword = config(prefix(), proxy.uri().toString(), tls + "  username: indexer\n  password: ${WRONG_PW}", env);
      try (ElasticsearchSink sink = new ElasticsearchSink(wrongPassword, new SimpleMeterRegistry())) {
        List<Outcome> out = write(sink, records("tls-dev", 200, 3, Instant.parse("2026-11-20T10:00:00Z")));
        assertThat(out).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class, r -> {
          said.add(r.reason());
          assertThat(r.reason()).contains("refused the credentials").contains("indexer.username");
        }));
        said.add(sink.health().reason());
        assertThat(proxy.refused.get()).isPositive();
      }
    } finally {
      System.setErr(err);
    }
    said.add(captured.toString(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(String.join("\n", said)).as("outcomes, health and logs").isNotBlank()
        .doesNotContain(password).doesNotContain(basic);
  }

  @Test
  void behindAProxyThatRefusesLargeBodiesEveryReadingIsIndexedOnceAndTheOneThatNeverFitsIsRejectedWithTheReason() throws Exception {
    String prefix = prefix();
    IndexerConfig cfg;
    try (RefusingProxy proxy = RefusingProxy.start(os.httpUri())) {
      // About a hundred readings per request pass; the consumer hands over 400 per batch.
      proxy.maxBody.set(32 * 1024);
      cfg = config(prefix, proxy.uri().toString());
      Instant ts = Instant.parse("2026-11-20T10:00:00Z");
      List<List<SinkRecord>> batches = new ArrayList<>();
      for (int b = 0; b < 10; b++) {
        List<SinkRecord> batch = new ArrayList<>();
        for (int d = 0; d < 8; d++) {
          batch.addAll(records("proxied-" + d, b * 50L + 1, 50, ts.plus(Duration.ofMinutes(b))));
        }
        batches.add(batch);
      }
      // One reading far larger than the proxy takes, in the middle of a batch.
      batches.get(4).add(200, new SinkRecord(new Telemetry("oversized", 1, ts, "x".repeat(40 * 1024), "eu-west", "CHARGING", null,
          Map.of("powerKw", 1.0)), new byte[0], "q", 0));
      try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
        // Submitted before any is awaited, as the consumer pipelines them: splitting must hold up with bulks in flight.
        List<CompletableFuture<List<Outcome>>> pending = new ArrayList<>();
        for (List<SinkRecord> batch : batches) {
          pending.add(sink.write(batch).toCompletableFuture());
        }
        List<Outcome> rejected = new ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
          List<Outcome> out = pending.get(b).join();
          assertThat(out).hasSize(batches.get(b).size()).doesNotHaveAnyElementsOfTypes(Outcome.Retry.class);
          out.stream().filter(o -> o instanceof Outcome.Reject).forEach(rejected::add);
          if (b == 4) {
            assertThat(out.get(200)).isInstanceOf(Outcome.Reject.class);
          }
        }
        assertThat(rejected).singleElement().isInstanceOfSatisfying(Outcome.Reject.class, r -> assertThat(r.reason())
            .startsWith("document oversized:1 is too large for the search engine")
            .contains("HTTP 413 Request Entity Too Large"));
        assertThat(sink.health()).isEqualTo(io.iotpipe.sink.SinkHealth.UP);
      }
      assertThat(proxy.tooLarge.get()).as("the proxy did refuse bulks").isPositive();
    }
    // Every reading once: ids are deviceId:seq, so 4,000 documents are the 4,000 readings, none twice, none missing.
    assertThat(count(prefix + "-2*")).isEqualTo(10 * 8 * 50);
    for (int d = 0; d < 8; d++) {
      JsonNode perDevice = JSON.readTree(send("POST", "/" + prefix + "-2*/_search",
          "{\"size\":0,\"query\":{\"term\":{\"deviceId\":\"proxied-" + d + "\"}},"
              + "\"aggs\":{\"seqs\":{\"cardinality\":{\"field\":\"seq\"}},\"max\":{\"max\":{\"field\":\"seq\"}}}}").text());
      assertThat(perDevice.path("hits").path("total").path("value").asLong()).isEqualTo(500);
      assertThat(perDevice.path("aggregations").path("seqs").path("value").asLong()).isEqualTo(500);
      assertThat(perDevice.path("aggregations").path("max").path("value").asLong()).isEqualTo(500);
    }
    String index = new DocumentEncoder(cfg).indexFor(Instant.parse("2026-11-20T10:00:00Z"));
    assertThat(send("GET", "/" + index + "/_doc/oversized:1", null).status()).isEqualTo(404);
    get("/" + cfg.latestIndex() + "/_refresh");
    assertThat(get("/" + cfg.latestIndex() + "/_doc/proxied-3").path("_source").path("seq").asLong()).isEqualTo(500);
  }

  @Test
  void credentialsRefusedByAProxyAreAnOutageThatHealthNamesAndNothingIsRejected() throws Exception {
    String prefix = prefix();
    try (RefusingProxy proxy = RefusingProxy.start(os.httpUri())) {
      IndexerConfig cfg = config(prefix, proxy.uri().toString(), "  consumer: {degradedAfter: 0ms}", k -> null);
      Instant ts = Instant.parse("2026-11-20T10:00:00Z");
      try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
        assertThat(write(sink, records("cred-dev", 1, 20, ts))).containsOnly(Outcome.DELIVERED);
        // The indexer's password is rotated at the proxy but not yet in the indexer's environment.
        proxy.refuseCredentials.set(true);
        List<SinkRecord> during = records("cred-dev", 21, 20, ts);
        for (int attempt = 0; attempt < 3; attempt++) {
          assertThat(write(sink, during)).hasSize(20).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
              r -> assertThat(r.reason()).contains("refused the indexer's credentials (HTTP 401 Unauthorized)")));
        }
        // Refused credentials turn DOWN after ten times degradedAfter, here 0 ms: at once.
        assertThat(sink.health().state()).isEqualTo(io.iotpipe.sink.SinkHealth.State.DOWN);
        assertThat(sink.health().reason()).contains("refused the indexer's credentials").contains("indexer.username");
        assertThat(proxy.unauthorized.get()).isGreaterThanOrEqualTo(3);
        proxy.refuseCredentials.set(false);
        assertThat(write(sink, during)).containsOnly(Outcome.DELIVERED);
        assertThat(sink.health()).isEqualTo(io.iotpipe.sink.SinkHealth.UP);
      }
    }
    assertThat(count(prefix + "-2*")).isEqualTo(40);
  }

  static java.io.OutputStream tee(java.io.OutputStream a, java.io.OutputStream b) {
    return new java.io.OutputStream() {
      @Override
      public void write(int x) throws java.io.IOException {
        a.write(x);
        b.write(x);
      }

      @Override
      public void write(byte[] buf, int off, int len) throws java.io.IOException {
        a.write(buf, off, len);
        b.write(buf, off, len);
      }
    };
  }
}
