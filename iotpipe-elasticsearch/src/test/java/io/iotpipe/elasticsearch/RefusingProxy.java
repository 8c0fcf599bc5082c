package io.iotpipe.elasticsearch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What sits in front of many production engines: a reverse proxy with a body size limit (nginx's
 * {@code client_max_body_size} answers {@code 413 Request Entity Too Large} without passing the request on) and
 * authentication that can start refusing the indexer's credentials (401). Everything else is forwarded unchanged to
 * the real engine behind it.
 */
final class RefusingProxy implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService executor;
  private final HttpClient upstreamClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final URI upstream;
  /** Request bodies above this many bytes are refused with 413. */
  final AtomicLong maxBody = new AtomicLong(Long.MAX_VALUE);
  /** While set, every request is refused with 401 (credentials revoked or rotated under the indexer). */
  final AtomicBoolean refuseCredentials = new AtomicBoolean();
  final AtomicInteger tooLarge = new AtomicInteger();
  final AtomicInteger unauthorized = new AtomicInteger();

  private RefusingProxy(URI upstream) throws IOException {
    this.upstream = upstream;
    this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    this.executor = Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().daemon().name("refusing-proxy").unstarted(r));
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  static RefusingProxy start(URI upstream) {
    try {
      return new RefusingProxy(upstream);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] in = ex.getRequestBody().readAllBytes();
      if (refuseCredentials.get()) {
        unauthorized.incrementAndGet();
        ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"proxy\"");
        answer(ex, 401, "<html><head><title>401 Authorization Required</title></head></html>");
        return;
      }
      if (in.length > maxBody.get()) {
        tooLarge.incrementAndGet();
        answer(ex, 413, "<html><head><title>413 Request Entity Too Large</title></head></html>");
        return;
      }
      HttpRequest.Builder rb = HttpRequest.newBuilder(upstream.resolve(ex.getRequestURI().getRawPath()
              + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery())))
          .timeout(Duration.ofSeconds(30))
          .method(ex.getRequestMethod(), in.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(in));
      String ct = ex.getRequestHeaders().getFirst("Content-Type");
      if (ct != null) {
        rb.header("Content-Type", ct);
      }
      HttpResponse<byte[]> r;
      try {
        r = upstreamClient.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        ex.sendResponseHeaders(502, -1);
        return;
      }
      r.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().add("Content-Type", v));
      ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
      ex.getResponseBody().write(r.body());
    }
  }

  private static void answer(HttpExchange ex, int status, String html) throws IOException {
    byte[] body = html.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "text/html");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    upstreamClient.close();
  }
}
