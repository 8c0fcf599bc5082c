package io.iotpipe.elasticsearch;

import io.iotpipe.core.config.IndexerConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain HTTP to Elasticsearch or OpenSearch. Deliberately not an official client: the Elasticsearch client refuses
 * OpenSearch, the OpenSearch client is shaky on Elasticsearch 8, and {@code _bulk} with NDJSON is the same on
 * Elasticsearch 7/8 and OpenSearch 1/2/3. Requests rotate over the configured URLs; a URL that fails to connect is
 * skipped for the next request.
 */
public final class EsClient {

  /** A response: status code and body (empty for connection failures, which complete the future exceptionally). */
  public record Response(int status, byte[] body) {
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private final List<URI> urls;
  private final String auth;
  private final Duration timeout;
  private final HttpClient http;
  private final AtomicInteger next = new AtomicInteger();

  public EsClient(IndexerConfig cfg) {
    this(cfg.urls(), cfg.username(), cfg.password() == null ? null : cfg.password().reveal(), cfg.requestTimeout());
  }

  public EsClient(List<URI> urls, String username, String password, Duration timeout) {
    this.urls = List.copyOf(urls);
    this.auth = username == null ? null
        : "Basic " + Base64.getEncoder().encodeToString((username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
    this.timeout = timeout;
    // HTTP/1.1: h2c upgrade is not supported by the engines and breaks requests with bodies.
    // Its own threads: response handling must not wait for a busy ForkJoinPool.commonPool (one thread on 2 cores),
    // which would stall indexing while unrelated work runs there (measured: bulks waited for a whole simulation).
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
        .executor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
          Thread t = new Thread(r, "es-http");
          t.setDaemon(true);
          return t;
        })).build();
  }

  public List<URI> urls() {
    return urls;
  }

  public CompletableFuture<Response> send(String method, String path, byte[] body, String contentType) {
    int i = Math.floorMod(next.getAndIncrement(), urls.size());
    URI base = urls.get(i);
    HttpRequest.Builder rb = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (body != null) {
      rb.header("Content-Type", contentType);
    }
    if (auth != null) {
      rb.header("Authorization", auth);
    }
    return http.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofByteArray())
        .thenApply(r -> new Response(r.statusCode(), r.body()));
  }

  public Response sendSync(String method, String path, String json) {
    try {
      return send(method, path, json == null ? null : json.getBytes(StandardCharsets.UTF_8), "application/json").join();
    } catch (java.util.concurrent.CompletionException e) {
      throw new EsUnavailableException("cannot reach Elasticsearch/OpenSearch at " + urls + ": " + describe(e.getCause()), e.getCause());
    }
  }

  static String describe(Throwable t) {
    if (t instanceof java.net.ConnectException) {
      return "connection refused (is it running? check indexer.urls)";
    }
    if (t instanceof java.net.http.HttpTimeoutException) {
      return "timed out (indexer.requestTimeout)";
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  /** The engine could not be reached or answered 5xx: transient, worth retrying. */
  public static final class EsUnavailableException extends RuntimeException {
    public EsUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
