package io.iotpipe.elasticsearch;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * What a secured Elasticsearch looks like from the indexer, in front of a plain test engine: HTTPS with a private CA
 * and HTTP basic auth on every request (401 without the right credentials, as Elasticsearch's security answers).
 * The JDK's HttpsServer terminates TLS; requests are forwarded unchanged.
 */
final class TlsAuthProxy implements AutoCloseable {

  private final HttpsServer server;
  private final HttpClient upstreamClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final URI upstream;
  private final String expected;
  final AtomicInteger refused = new AtomicInteger();
  final AtomicInteger forwarded = new AtomicInteger();

  private TlsAuthProxy(SSLContext tls, URI upstream, String user, String password) throws IOException {
    this.upstream = upstream;
    this.expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    this.server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls));
    server.setExecutor(Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().daemon().name("tls-proxy").unstarted(r)));
    server.createContext("/", this::handle);
    server.start();
  }

  static TlsAuthProxy start(SSLContext tls, URI upstream, String user, String password) {
    try {
      return new TlsAuthProxy(tls, upstream, user, password);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  URI uri() {
    return URI.create("https://127.0.0.1:" + server.getAddress().getPort());
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] in = ex.getRequestBody().readAllBytes();
      if (!expected.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        refused.incrementAndGet();
        byte[] body = ("{\"error\":{\"type\":\"security_exception\",\"reason\":\"unable to authenticate user for REST request ["
            + ex.getRequestURI().getPath() + "]\"},\"status\":401}").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"security\"");
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(401, body.length);
        ex.getResponseBody().write(body);
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
      forwarded.incrementAndGet();
      r.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().add("Content-Type", v));
      ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
      ex.getResponseBody().write(r.body());
    }
  }

  @Override
  public void close() {
    server.stop(0);
    upstreamClient.close();
  }
}
