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
 * {@code /health} as an orchestrator sees it, for a store role on a real node: UP and 200 while consuming, DEGRADED
 * and still 200 while the broker is away (restarting the process would only add a redelivery storm), DOWN and 503
 * once it has been away for ten times {@code degradedAfter}, and UP again by itself when the node is back.
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

    JsonNode storage() {
      return body.path("sinks").path("storage");
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

  @Test
  void reportsUpDegradedAndDownWithTheRightStatusCodes() throws Exception {
    String prefix = "h" + UUID.randomUUID().toString().substring(0, 8);
    IotpipeConfig cfg = IotpipeConfig.parse("health.yaml", """
        brokers:
          cloud: {uris: [amqp://127.0.0.1:%d]}
        topology: {balancer: cloud, prefix: %s, partitions: 2, sinks: [storage], queueType: classic}
        storage:
          dir: %s
          compaction: {enabled: false}
          consumer:
            degradedAfter: 1s
            backoff: {initial: 100ms, max: 500ms}
        """.formatted(node.ports().amqp(), prefix, dir.resolve("store")), k -> null);
    ConnectionFactory f = new ConnectionFactory();
    f.setPort(node.ports().amqp());
    try (Connection c = f.newConnection("health-it-setup"); var ch = c.createChannel()) {
      for (int p = 0; p < 2; p++) {
        ch.queueDeclare(cfg.topology().names().sinkQueue("storage", p), true, false, false, Map.of());
      }
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (PipelineRunner runner = new PipelineRunner(cfg, Set.of(Role.STORE), "it", registry).start();
         HealthServer server = new HealthServer("127.0.0.1", 0, runner, registry)) {
      int port = server.port();

      await().atMost(Duration.ofSeconds(30)).until(() -> get(port).status().equals("UP"));
      Health up = get(port);
      assertThat(up.code()).isEqualTo(200);
      assertThat(up.body().has("reason")).as("no reason while all is well").isFalse();
      assertThat(up.storage().path("status").asText()).isEqualTo("UP");
      assertThat(up.storage().path("connected").asBoolean()).isTrue();
      assertThat(metrics(port)).contains("iotpipe_sink_health{sink=\"storage\"} 0.0");

      node.kill();

      await().atMost(Duration.ofSeconds(30)).until(() -> !get(port).status().equals("UP"));
      Health degraded = get(port);
      assertThat(degraded.status()).isEqualTo("DEGRADED");
      assertThat(degraded.code()).as("a process riding out an outage is not restarted").isEqualTo(200);
      assertThat(degraded.body().path("reason").asText()).contains("not consuming from the broker");
      assertThat(degraded.storage().path("status").asText()).isEqualTo("DEGRADED");
      assertThat(degraded.storage().path("connected").asBoolean()).isFalse();

      // ten times degradedAfter (1 s) without a subscription
      await().atMost(Duration.ofSeconds(60)).until(() -> get(port).status().equals("DOWN"));
      Health down = get(port);
      assertThat(down.code()).isEqualTo(503);
      assertThat(down.body().path("reason").asText()).contains("not consuming from the broker");
      assertThat(down.storage().path("status").asText()).isEqualTo("DOWN");
      assertThat(metrics(port)).contains("iotpipe_sink_health{sink=\"storage\"} 2.0");

      node.start();

      await().atMost(Duration.ofSeconds(90)).until(() -> get(port).status().equals("UP"));
      assertThat(get(port).code()).isEqualTo(200);
      assertThat(get(port).storage().path("connected").asBoolean()).isTrue();
    }
  }
}
