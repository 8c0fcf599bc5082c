package io.iotpipe.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.iotpipe.sink.SinkHealth;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /health} and {@code GET /metrics} (Prometheus text format). Uses the JDK's built-in HTTP server: two
 * read-only endpoints do not justify a web framework.
 *
 * <p>{@code /health} reports each sink as UP / DEGRADED / DOWN with the reason (failing writes, no broker connection,
 * a commit alarm) and the overall status, the worst of them. HTTP 503 only when something is DOWN: a DEGRADED
 * process is working around a problem without losing data, and a load balancer or orchestrator must not restart it
 * for that (a restart would only add a redelivery storm to the outage).
 */
public final class HealthServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private final HttpServer server;

  /** One part of a process /health reports on: its status and what an operator needs to see beside it. */
  public record Part(SinkHealth health, Map<String, Object> details) {}

  /** The roles' process: one part per sink consumer, under {@code "sinks"}. */
  public HealthServer(String bind, int port, PipelineRunner runner, PrometheusMeterRegistry registry) throws IOException {
    this(bind, port, "sinks", () -> {
      Map<String, Part> parts = new LinkedHashMap<>();
      for (var e : runner.consumers().entrySet()) {
        var consumer = e.getValue();
        var stats = consumer.stats();
        parts.put(e.getKey().sink(), new Part(consumer.health(), Map.of("connected", stats.connected(), "pending", stats.pending(),
            "delivered", stats.delivered(), "deadLettered", stats.deadLettered())));
      }
      return parts;
    }, registry);
  }

  /**
   * @param label the JSON key the parts are reported under ({@code sinks}, {@code forwarders})
   * @param parts asked on every request; the overall status is the worst of them
   */
  public HealthServer(String bind, int port, String label, Supplier<Map<String, Part>> parts, PrometheusMeterRegistry registry)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(bind, port), 0);
    server.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4", registry.scrape()));
    server.createContext("/health", ex -> {
      Map<String, Object> body = new LinkedHashMap<>();
      SinkHealth overall = SinkHealth.UP;
      Map<String, Object> reported = new LinkedHashMap<>();
      for (var e : parts.get().entrySet()) {
        SinkHealth h = e.getValue().health();
        overall = overall.worst(h);
        Map<String, Object> one = new LinkedHashMap<>();
        one.put("status", h.state().name());
        one.put("reason", h.reason());
        one.putAll(e.getValue().details());
        reported.put(e.getKey(), one);
      }
      body.put("status", overall.state().name());
      if (!overall.reason().isEmpty()) {
        body.put("reason", overall.reason());
      }
      body.put(label, reported);
      respond(ex, overall.state() == SinkHealth.State.DOWN ? 503 : 200, "application/json", JSON.writeValueAsString(body));
    });
    server.setExecutor(null);
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int code, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
