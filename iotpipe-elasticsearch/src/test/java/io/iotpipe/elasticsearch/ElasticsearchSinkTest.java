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
}
