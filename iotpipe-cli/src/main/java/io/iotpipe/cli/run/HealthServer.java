package io.iotpipe.cli.run;

import com.sun.net.httpserver.HttpServer;
import io.iotpipe.core.cli.Output;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code GET /health} (200 when every consumer is connected and subscribed, else 503, with the reason) and
 * {@code GET /metrics} (Prometheus text format). Uses the JDK's built-in HTTP server: two read-only endpoints do not
 * justify a web framework.
 */
public final class HealthServer implements AutoCloseable {
  private final HttpServer server;

  public HealthServer(String bind, int port, PipelineRunner runner, PrometheusMeterRegistry registry) throws IOException {
    server = HttpServer.create(new InetSocketAddress(bind, port), 0);
    server.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4", registry.scrape()));
    server.createContext("/health", ex -> {
      Map<String, Object> body = new LinkedHashMap<>();
      boolean up = true;
      for (var e : runner.stats().entrySet()) {
        var s = e.getValue();
        up &= s.connected();
        body.put(e.getKey().name().toLowerCase(), Map.of("connected", s.connected(), "pending", s.pending(),
            "delivered", s.delivered(), "lastError", s.lastError() == null ? "" : s.lastError()));
      }
      body.put("status", up ? "UP" : "DOWN");
      respond(ex, up ? 200 : 503, "application/json", Output.json().writeValueAsString(body));
    });
    server.setExecutor(null);
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(com.sun.net.httpserver.HttpExchange ex, int code, String type, String body) throws IOException {
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
