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
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Plain HTTP to Elasticsearch or OpenSearch. Deliberately not an official client: the Elasticsearch client refuses
 * OpenSearch, the OpenSearch client is shaky on Elasticsearch 8, and {@code _bulk} with NDJSON is the same on
 * Elasticsearch 7/8 and OpenSearch 1/2/3. Requests rotate over the configured URLs; a URL that fails to connect is
 * skipped for the next request.
 */
public final class EsClient implements AutoCloseable {

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
  private final java.util.concurrent.ExecutorService executor;
  private final AtomicInteger next = new AtomicInteger();
  /** Per URL: System.nanoTime() until which it is skipped, or {@link #UP}. */
  private final AtomicLongArray downUntil;

  /** How long a URL that refused a connection is skipped while others remain. */
  static final Duration DOWN_FOR = Duration.ofSeconds(5);
  private static final long UP = Long.MIN_VALUE;

  public EsClient(IndexerConfig cfg) {
    this(cfg.urls(), cfg.username(), cfg.password() == null ? null : cfg.password().reveal(), cfg.requestTimeout());
  }

  public EsClient(List<URI> urls, String username, String password, Duration timeout) {
    if (urls.isEmpty()) {
      throw new IllegalArgumentException("no Elasticsearch/OpenSearch URL configured (indexer.urls)");
    }
    this.urls = List.copyOf(urls);
    this.downUntil = new AtomicLongArray(this.urls.size());
    for (int i = 0; i < this.urls.size(); i++) {
      downUntil.set(i, UP);
    }
    this.auth = username == null ? null
        : "Basic " + Base64.getEncoder().encodeToString((username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
    this.timeout = timeout;
    // HTTP/1.1: h2c upgrade is not supported by the engines and breaks requests with bodies.
    // Its own threads: response handling must not wait for a busy ForkJoinPool.commonPool (one thread on 2 cores),
    // which would stall indexing while unrelated work runs there (measured: bulks waited for a whole simulation).
    this.executor = java.util.concurrent.Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "es-http");
      t.setDaemon(true);
      return t;
    });
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
        .executor(executor).build();
  }

  public List<URI> urls() {
    return urls;
  }

  /**
   * Sends to the next URL in rotation that is not marked down. A URL whose connection fails is marked down for
   * {@link #DOWN_FOR} and the request goes to the next one at once: a refused or timed-out connect never carried the
   * request, so resending it cannot duplicate anything. When every URL is down the rotation probes them anyway, so
   * a recovered engine is noticed on the next request.
   */
  public CompletableFuture<Response> send(String method, String path, byte[] body, String contentType) {
    return sendTo(pick(), 1, method, path, body, contentType);
  }

  private CompletableFuture<Response> sendTo(int i, int attempt, String method, String path, byte[] body, String contentType) {
    HttpRequest.Builder rb = HttpRequest.newBuilder(urls.get(i).resolve(path)).timeout(timeout)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (body != null) {
      rb.header("Content-Type", contentType);
    }
    if (auth != null) {
      rb.header("Authorization", auth);
    }
    return http.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofByteArray())
        .handle((r, e) -> {
          if (e == null) {
            downUntil.set(i, UP);
            return CompletableFuture.completedFuture(new Response(r.statusCode(), r.body()));
          }
          Throwable cause = unwrap(e);
          if (isConnectFailure(cause)) {
            downUntil.set(i, System.nanoTime() + DOWN_FOR.toNanos());
            int j = pick();
            if (attempt < urls.size() && j != i) {
              return sendTo(j, attempt + 1, method, path, body, contentType);
            }
          }
          return CompletableFuture.<Response>failedFuture(cause);
        })
        .thenCompose(f -> f);
  }

  private int pick() {
    int n = urls.size();
    int start = Math.floorMod(next.getAndIncrement(), n);
    long now = System.nanoTime();
    for (int k = 0; k < n; k++) {
      int i = (start + k) % n;
      long until = downUntil.get(i);
      if (until == UP || until - now <= 0) {
        return i;
      }
    }
    return start;
  }

  static Throwable unwrap(Throwable e) {
    while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  private static boolean isConnectFailure(Throwable t) {
    return t instanceof java.net.ConnectException || t instanceof java.net.http.HttpConnectTimeoutException
        || t instanceof java.nio.channels.UnresolvedAddressException || t instanceof java.net.UnknownHostException;
  }

  public Response sendSync(String method, String path, String json) {
    try {
      return send(method, path, json == null ? null : json.getBytes(StandardCharsets.UTF_8), "application/json").join();
    } catch (java.util.concurrent.CompletionException e) {
      throw new EsUnavailableException("cannot reach Elasticsearch/OpenSearch at " + urls + ": " + describe(unwrap(e)), unwrap(e));
    }
  }

  /** Releases the HTTP client's connections and threads; requests still in flight fail. */
  @Override
  public void close() {
    http.shutdownNow();
    executor.shutdown();
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
