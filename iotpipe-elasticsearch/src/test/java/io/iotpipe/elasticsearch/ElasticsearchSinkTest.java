package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The sink's health and memory bound against a stub engine whose answers the test controls. */
class ElasticsearchSinkTest {

  HttpServer server;
  final AtomicInteger bulkStatus = new AtomicInteger(200);
  final AtomicInteger concurrent = new AtomicInteger();
  final AtomicInteger maxConcurrent = new AtomicInteger();
  final AtomicInteger bulks = new AtomicInteger();
  /** Bulk bodies above this many bytes are refused with 413, as nginx's client_max_body_size does. */
  final AtomicInteger maxBody = new AtomicInteger(Integer.MAX_VALUE);
  final AtomicInteger tooLarge = new AtomicInteger();
  volatile CountDownLatch hold = new CountDownLatch(0);
  /** "METHOD path" of every request, and the bodies of the bulks. */
  final List<String> requests = java.util.Collections.synchronizedList(new ArrayList<>());
  final List<String> bulkBodies = java.util.Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext("/", this::handle);
    server.start();
  }

  @AfterEach
  void stop() {
    hold.countDown();
    server.stop(0);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] request = ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath();
      requests.add(ex.getRequestMethod() + " " + path);
      String body = "{}";
      int status = 200;
      if (path.equals("/")) {
        body = "{\"version\":{\"number\":\"8.19.4\"}}";
      } else if (path.equals("/_bulk") && request.length > maxBody.get()) {
        tooLarge.incrementAndGet();
        status = 413;
        body = "<html><head><title>413 Request Entity Too Large</title></head></html>";
      } else if (path.equals("/_bulk")) {
        bulkBodies.add(new String(request, StandardCharsets.UTF_8));
        bulks.incrementAndGet();
        maxConcurrent.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
        try {
          hold.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        concurrent.decrementAndGet();
        status = bulkStatus.get();
        body = status == 200 ? "{\"errors\":false,\"items\":[]}" : "{\"error\":\"overloaded\"}";
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
    }
  }

  IndexerConfig config(String extra) {
    return IotpipeConfig.parse("test", """
        brokers:
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {balancer: cloud}
        indexer:
          urls: [http://127.0.0.1:%d]
          requestTimeout: 30s
        %s
        """.formatted(server.getAddress().getPort(), extra), k -> null).indexer();
  }

  static List<SinkRecord> batch(String device, long seq, String site) {
    return List.of(new SinkRecord(new Telemetry(device, seq, Instant.parse("2026-11-20T10:00:00Z"), site, "eu", "IDLE", null,
        Map.of("powerKw", 1.0)), new byte[0], "q", 0));
  }

  /** A clock the test moves. */
  static final class MovableClock extends Clock {
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-25T12:00:00Z"));

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  @Test
  void healthTurnsDegradedWhenTheEngineFailsLongerThanDegradedAfterAndUpAfterTheNextSuccess() {
    MovableClock clock = new MovableClock();
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  consumer: {degradedAfter: 10s}"), new SimpleMeterRegistry(), clock)) {
      assertThat(sink.write(batch("d", 1, "s")).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      assertThat(sink.health()).isEqualTo(SinkHealth.UP);
      bulkStatus.set(503);
      assertThat(sink.write(batch("d", 2, "s")).toCompletableFuture().join()).allMatch(o -> o instanceof Outcome.Retry);
      assertThat(sink.health()).as("a blip is not yet a problem").isEqualTo(SinkHealth.UP);
      clock.now.updateAndGet(t -> t.plusSeconds(5));
      sink.write(batch("d", 2, "s")).toCompletableFuture().join();
      clock.now.updateAndGet(t -> t.plusSeconds(6));
      SinkHealth h = sink.health();
      assertThat(h.state()).isEqualTo(SinkHealth.State.DEGRADED);
      assertThat(h.reason()).isEqualTo("search engine failing since 2026-11-25T12:00:00Z: bulk request failed with HTTP 503: {\"error\":\"overloaded\"}");
      bulkStatus.set(200);
      assertThat(sink.write(batch("d", 2, "s")).toCompletableFuture().join()).containsOnly(Outcome.DELIVERED);
      assertThat(sink.health()).isEqualTo(SinkHealth.UP);
    }
  }

  @Test
  void anUnreachableEngineIsNamedInHealthFromTheStart() throws Exception {
    int port = server.getAddress().getPort();
    server.stop(0);
    MovableClock clock = new MovableClock();
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  consumer: {degradedAfter: 1s}"), new SimpleMeterRegistry(), clock)) {
      assertThat(sink.write(batch("d", 1, "s")).toCompletableFuture().join()).allMatch(o -> o instanceof Outcome.Retry);
      clock.now.updateAndGet(t -> t.plusSeconds(2));
      assertThat(sink.health().reason()).startsWith("search engine failing since 2026-11-25T12:00:00Z: search engine not ready")
          .contains("127.0.0.1:" + port).contains("connection refused");
    }
  }

  @Test
  void bulksInFlightAreBoundedByBytesWhenReadingsAreLarge() throws Exception {
    // Each bulk carries one ~400 KiB reading twice (event + latest state): a 1 MiB budget admits two at once, not eight.
    String bigSite = "x".repeat(200 * 1024);
    hold = new CountDownLatch(1);
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  maxInFlight: 8\n  maxInFlightBytes: 1MiB"), new SimpleMeterRegistry())) {
      sink.prepare();
      List<CompletableFuture<List<Outcome>>> results = new ArrayList<>();
      Thread writer = Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 6; i++) {
          results.add(sink.write(batch("big-" + i, 1, bigSite)).toCompletableFuture()); // blocks while the budget is spent
        }
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> concurrent.get() == 2);
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> concurrent.get() == 2);
      hold.countDown();
      writer.join(20_000);
      assertThat(results).hasSize(6);
      for (CompletableFuture<List<Outcome>> r : results) {
        assertThat(r.get(20, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
      }
      assertThat(bulks.get()).isEqualTo(6);
      assertThat(maxConcurrent.get()).isEqualTo(2);
    }
  }

  static List<SinkRecord> readings(int devices, int perDevice) {
    List<SinkRecord> out = new ArrayList<>();
    for (int seq = 1; seq <= perDevice; seq++) {
      for (int d = 0; d < devices; d++) {
        out.add(batch("dev-" + d, seq, "site").get(0));
      }
    }
    return out;
  }

  @Test
  void theLatestStateIndexGetsOneDocumentPerDeviceAndBulkWithItsHighestSeq() throws Exception {
    try (ElasticsearchSink sink = new ElasticsearchSink(config(""), new SimpleMeterRegistry())) {
      assertThat(sink.write(readings(3, 4)).toCompletableFuture().get(10, TimeUnit.SECONDS)).hasSize(12).containsOnly(Outcome.DELIVERED);
      assertThat(requests).contains("PUT /telemetry-latest");
      String body = bulkBodies.get(0);
      assertThat(body.split("\"create\"", -1)).hasSize(12 + 1);
      assertThat(body.split("\"_index\":\"telemetry-latest\"", -1)).hasSize(3 + 1);
      assertThat(body).contains("\"_id\":\"dev-0\",\"version\":4,\"version_type\":\"external\"");
    }
  }

  @Test
  void withLatestStateOffOnlyEventsAreIndexedAndNoLatestIndexIsCreated() throws Exception {
    IndexerConfig cfg = config("  latestState: false");
    assertThat(cfg.latestState()).isFalse();
    try (ElasticsearchSink sink = new ElasticsearchSink(cfg, new SimpleMeterRegistry())) {
      assertThat(sink.write(readings(3, 4)).toCompletableFuture().get(10, TimeUnit.SECONDS)).hasSize(12).containsOnly(Outcome.DELIVERED);
      assertThat(requests).noneMatch(r -> r.contains("latest"));
      String body = bulkBodies.get(0);
      assertThat(body.split("\"create\"", -1)).hasSize(12 + 1);
      assertThat(body).doesNotContain("latest").doesNotContain("version_type");
    }
  }

  static List<SinkRecord> readings(String device, int n, String site) {
    List<SinkRecord> out = new ArrayList<>();
    for (int seq = 1; seq <= n; seq++) {
      out.add(batch(device, seq, site).get(0));
    }
    return out;
  }

  /** Event ids ({@code deviceId:seq}) in the bulks the engine took, in order. */
  List<String> indexedEvents() {
    List<String> ids = new ArrayList<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{\"create\":\\{[^}]*\"_id\":\"([^\"]+)\"")
        .matcher(String.join("\n", bulkBodies));
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  @Test
  void aBulkTooLargeForTheEngineIsHalvedUntilThePartsPassAndLaterBulksAreCutBeforeTheyAreSent() throws Exception {
    try (ElasticsearchSink sink = new ElasticsearchSink(config(""), new SimpleMeterRegistry())) {
      sink.prepare();
      // A proxy in front of the engine takes about three readings (with their latest state) per request.
      maxBody.set(1600);
      List<SinkRecord> first = readings("big-bulk", 16, "site");
      assertThat(sink.write(first).toCompletableFuture().get(10, TimeUnit.SECONDS)).hasSize(16).containsOnly(Outcome.DELIVERED);
      assertThat(tooLarge.get()).as("refused before the parts fit").isPositive();
      assertThat(bulkBodies).allSatisfy(b -> assertThat(b.length()).isLessThanOrEqualTo(1600));
      int refusedSoFar = tooLarge.get();
      List<SinkRecord> second = new ArrayList<>();
      for (int seq = 17; seq <= 32; seq++) {
        second.add(batch("big-bulk", seq, "site").get(0));
      }
      assertThat(sink.write(second).toCompletableFuture().get(10, TimeUnit.SECONDS)).hasSize(16).containsOnly(Outcome.DELIVERED);
      assertThat(tooLarge.get()).as("the size that passed is remembered: no refused round trip").isEqualTo(refusedSoFar);
      List<String> expected = new ArrayList<>();
      for (int seq = 1; seq <= 32; seq++) {
        expected.add("big-bulk:" + seq);
      }
      assertThat(indexedEvents()).as("every reading taken exactly once").containsExactlyElementsOf(expected);
    }
  }

  @Test
  void splittingWhileBulksArePipelinedNeverStallsThePipeline() throws Exception {
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  maxInFlight: 1"), new SimpleMeterRegistry())) {
      sink.prepare();
      maxBody.set(1600);
      List<CompletableFuture<List<Outcome>>> pending = new ArrayList<>();
      List<String> expected = new ArrayList<>();
      // Submitted before any is awaited, as the consumer does: halves of refused bulks compete for the one permit.
      for (int b = 0; b < 8; b++) {
        List<SinkRecord> batch = new ArrayList<>();
        for (int seq = b * 16 + 1; seq <= b * 16 + 16; seq++) {
          batch.add(batch("piped", seq, "site").get(0));
          expected.add("piped:" + seq);
        }
        pending.add(sink.write(batch).toCompletableFuture());
      }
      for (CompletableFuture<List<Outcome>> p : pending) {
        assertThat(p.get(20, TimeUnit.SECONDS)).hasSize(16).containsOnly(Outcome.DELIVERED);
      }
      assertThat(indexedEvents()).containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  @Test
  void aReadingThatCanNeverFitIsRejectedWithTheReasonAndTheRestOfTheBatchIsDelivered() throws Exception {
    try (ElasticsearchSink sink = new ElasticsearchSink(config(""), new SimpleMeterRegistry())) {
      sink.prepare();
      maxBody.set(4000);
      List<SinkRecord> batch = new ArrayList<>(readings("small", 6, "site"));
      batch.add(3, batch("huge", 1, "x".repeat(5000)).get(0));
      List<Outcome> out = sink.write(batch).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(out.get(3)).isInstanceOfSatisfying(Outcome.Reject.class, r -> assertThat(r.reason())
          .startsWith("document huge:1 is too large for the search engine")
          .contains("HTTP 413 Request Entity Too Large").contains("max_content_length"));
      assertThat(out).hasSize(7).filteredOn(o -> o == Outcome.DELIVERED).hasSize(6);
      assertThat(indexedEvents()).containsExactly("small:1", "small:2", "small:3", "small:4", "small:5", "small:6");
      assertThat(sink.health()).as("a document too large is not an outage").isEqualTo(SinkHealth.UP);
    }
  }

  @Test
  void refusedCredentialsAreRetriedNeverRejectedAndHealthNamesTheCredentials() throws Exception {
    MovableClock clock = new MovableClock();
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  consumer: {degradedAfter: 10s}"), new SimpleMeterRegistry(), clock)) {
      sink.prepare();
      bulkStatus.set(401);
      List<Outcome> out = sink.write(readings("d", 3, "s")).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(out).hasSize(3).allSatisfy(o -> assertThat(o).isInstanceOfSatisfying(Outcome.Retry.class,
          r -> assertThat(r.reason()).contains("refused the indexer's credentials (HTTP 401 Unauthorized)")
              .contains("indexer.username").contains("nothing is dead-lettered")));
      clock.now.updateAndGet(t -> t.plusSeconds(11));
      assertThat(sink.health().state()).isEqualTo(SinkHealth.State.DEGRADED);
      assertThat(sink.health().reason()).startsWith("search engine failing since 2026-11-25T12:00:00Z: search engine refused the indexer's credentials");
      bulkStatus.set(403);
      sink.write(readings("d", 3, "s")).toCompletableFuture().get(10, TimeUnit.SECONDS);
      clock.now.updateAndGet(t -> t.plusSeconds(90));
      assertThat(sink.health().state()).as("waiting does not fix credentials: an operator must act").isEqualTo(SinkHealth.State.DOWN);
      assertThat(sink.health().reason()).contains("HTTP 403 Forbidden").contains("credentials");
      bulkStatus.set(200);
      assertThat(sink.write(readings("d", 3, "s")).toCompletableFuture().get(10, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
      assertThat(sink.health()).isEqualTo(SinkHealth.UP);
    }
  }

  @Test
  void anEngineThatIsMerelyDownStaysDegradedNotDown() {
    MovableClock clock = new MovableClock();
    try (ElasticsearchSink sink = new ElasticsearchSink(config("  consumer: {degradedAfter: 10s}"), new SimpleMeterRegistry(), clock)) {
      sink.prepare();
      bulkStatus.set(503);
      sink.write(readings("d", 3, "s")).toCompletableFuture().join();
      clock.now.updateAndGet(t -> t.plusSeconds(600));
      assertThat(sink.health().state()).isEqualTo(SinkHealth.State.DEGRADED);
    }
  }
}
