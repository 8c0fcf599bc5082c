package io.iotpipe.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /health} as an orchestrator sees it, for a role on a real node (its sink, {@link HealthProbePlugin}, comes
 * through the same ServiceLoader path as the real ones): UP and 200 while consuming, DOWN and 503 while the sink
 * raises its own alarm, DEGRADED and still 200 while the broker is away (restarting the process would only add a
 * redelivery storm), DOWN and 503 once it has been away for ten times {@code degradedAfter}, and UP again by itself
 * when the node is back.
 */
class HealthServerIT {

  @TempDir static Path dir;
  static LocalNode node;

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void startNode() {
    node = LocalNode.start(new LocalNode.Spec("health" + UUID.randomUUID().toString().substring(0, 8), dir.resolve("node"), false));
  }

  @AfterAll
  static void stopNode() {
    if (node != null) {
      node.kill();
    }
  }

  record Health(int code, JsonNode body) {
    String status() {
      return body.path("status").asText();
    }

    JsonNode sink() {
      return body.path("sinks").path("hprobe");
    }
  }

  private Health get(int port) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return new Health(r.statusCode(), JSON.readTree(r.body()));
  }

  private String metrics(int port) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  /** Waits for a status; on time-out the failure shows the last body, whose reason names what the consumer saw. */
  private void awaitStatus(int port, String status, Duration atMost) {
    await().atMost(atMost).untilAsserted(() -> {
      Health h = get(port);
      assertThat(h.status()).as("health body %s", h.body()).isEqualTo(status);
    });
  }

  @Test
  void reportsUpDegradedAndDownWithTheRightStatusCodes() throws Exception {
    String prefix = "h" + UUID.randomUUID().toString().substring(0, 8);
    IotpipeConfig cfg = IotpipeConfig.parse("health.yaml", """
        brokers:
          cloud: {uris: [amqp://127.0.0.1:%d]}
        topology: {balancer: cloud, prefix: %s, partitions: 2, sinks: [hprobe], queueType: classic}
        """.formatted(node.ports().amqp(), prefix), k -> null);
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(node.ports().amqp());
    try (Connection c = f.newConnection("health-it-setup"); var ch = c.createChannel()) {
      for (int p = 0; p < 2; p++) {
        ch.queueDeclare(cfg.topology().names().sinkQueue("hprobe", p), true, false, false, Map.of());
      }
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (PipelineRunner runner = new PipelineRunner(cfg, Set.of(Role.of("health-probe")), "it", registry).start();
         HealthServer server = new HealthServer("127.0.0.1", 0, runner, registry)) {
      int port = server.port();

      awaitStatus(port, "UP", Duration.ofSeconds(30));
      Health up = get(port);
      assertThat(up.code()).isEqualTo(200);
      assertThat(up.body().has("reason")).as("no reason while all is well").isFalse();
      assertThat(up.sink().path("status").asText()).isEqualTo("UP");
      assertThat(up.sink().path("connected").asBoolean()).isTrue();
      assertThat(metrics(port)).contains("iotpipe_sink_health{sink=\"hprobe\"} 0.0");

      // the sink's own alarm: an operator is needed, restarting would not help either, but the probe must say so
      HealthProbePlugin.alarm = io.iotpipe.sink.SinkHealth.down("committed file vanished: p0/x.parquet");
      Health alarmed = get(port);
      assertThat(alarmed.code()).isEqualTo(503);
      assertThat(alarmed.status()).isEqualTo("DOWN");
      assertThat(alarmed.body().path("reason").asText()).isEqualTo("committed file vanished: p0/x.parquet");
      HealthProbePlugin.alarm = io.iotpipe.sink.SinkHealth.UP;
      assertThat(get(port).code()).isEqualTo(200);

      node.flushMetadata(); // the partition queues declared above must outlive the crash (see flushMetadata)
      node.kill();

      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(get(port).status()).isNotEqualTo("UP"));
      Health degraded = get(port);
      assertThat(degraded.status()).isEqualTo("DEGRADED");
      assertThat(degraded.code()).as("a process riding out an outage is not restarted").isEqualTo(200);
      assertThat(degraded.body().path("reason").asText()).contains("not consuming from the broker");
      assertThat(degraded.sink().path("status").asText()).isEqualTo("DEGRADED");
      assertThat(degraded.sink().path("connected").asBoolean()).isFalse();

      // ten times degradedAfter (1 s) without a subscription
      awaitStatus(port, "DOWN", Duration.ofSeconds(60));
      Health down = get(port);
      assertThat(down.code()).isEqualTo(503);
      assertThat(down.body().path("reason").asText()).contains("not consuming from the broker");
      assertThat(down.sink().path("status").asText()).isEqualTo("DOWN");
      assertThat(metrics(port)).contains("iotpipe_sink_health{sink=\"hprobe\"} 2.0");

      node.start();

      awaitStatus(port, "UP", Duration.ofSeconds(90));
      assertThat(get(port).code()).isEqualTo(200);
      assertThat(get(port).sink().path("connected").asBoolean()).isTrue();
    }
  }
}
