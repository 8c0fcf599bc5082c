package io.iotpipe.elasticsearch;

import io.iotpipe.core.config.IndexerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
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
  private final String caFile;
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
    this(cfg.urls(), authorization(cfg), cfg.caFile() == null ? null : trusting(cfg.caFile()),
        cfg.caFile() == null ? null : cfg.caFile().toString(), cfg.requestTimeout());
  }

  /** A client for {@code cfg}'s engine (urls, CA, timeout) logging in as another user (an administrator's task). */
  public static EsClient as(IndexerConfig cfg, String username, String password) {
    return new EsClient(cfg.urls(), basic(username, password), cfg.caFile() == null ? null : trusting(cfg.caFile()),
        cfg.caFile() == null ? null : cfg.caFile().toString(), cfg.requestTimeout());
  }

  public EsClient(List<URI> urls, String username, String password, Duration timeout) {
    this(urls, username == null ? null : basic(username, password), null, null, timeout);
  }

  /**
   * @param authorization the {@code Authorization} header value, or null
   * @param tls           trust for https URLs, or null for the JVM's default trust store
   * @param caFile        where {@code tls} came from, for error messages
   */
  public EsClient(List<URI> urls, String authorization, SSLContext tls, String caFile, Duration timeout) {
    if (urls.isEmpty()) {
      throw new IllegalArgumentException("no Elasticsearch/OpenSearch URL configured (indexer.urls)");
    }
    this.urls = List.copyOf(urls);
    this.downUntil = new AtomicLongArray(this.urls.size());
    for (int i = 0; i < this.urls.size(); i++) {
      downUntil.set(i, UP);
    }
    this.auth = authorization;
    this.caFile = caFile;
    this.timeout = timeout;
    // HTTP/1.1: h2c upgrade is not supported by the engines and breaks requests with bodies.
    // Its own threads: response handling must not wait for a busy ForkJoinPool.commonPool (one thread on 2 cores),
    // which would stall indexing while unrelated work runs there (measured: bulks waited for a whole simulation).
    this.executor = java.util.concurrent.Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "es-http");
      t.setDaemon(true);
      return t;
    });
    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
        .executor(executor);
    if (tls != null) {
      b.sslContext(tls);
    }
    this.http = b.build();
  }

  /** The header for the configured credentials: API key, basic auth, or none. Never logged. */
  static String authorization(IndexerConfig cfg) {
    if (cfg.apiKey() != null && cfg.apiKey().isSet()) {
      return "ApiKey " + cfg.apiKey().reveal();
    }
    return cfg.username() == null ? null : basic(cfg.username(), cfg.password() == null ? null : cfg.password().reveal());
  }

  private static String basic(String username, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * An SSL context that trusts exactly the certificates in a PEM file (the CA of a private cluster), with the JDK's
   * own PEM reader: a CA bundle needs no more than {@link CertificateFactory}. Hostname verification stays on.
   */
  public static SSLContext trusting(Path caFile) {
    try (InputStream in = Files.newInputStream(caFile)) {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("indexer.caFile: " + caFile + " holds no PEM certificate");
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | CertificateException e) {
      throw new IllegalArgumentException("indexer.caFile: cannot read a PEM certificate from " + caFile + ": " + e.getMessage(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS with indexer.caFile " + caFile + ": " + e.getMessage(), e);
    }
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
    return send(method, path, body, body == null ? 0 : body.length, contentType);
  }

  /** Sends the first {@code length} bytes of {@code body} (a bulk buffer is sent where it was encoded, not copied). */
  public CompletableFuture<Response> send(String method, String path, byte[] body, int length, String contentType) {
    return sendTo(pick(), 1, method, path, body, length, contentType);
  }

  private CompletableFuture<Response> sendTo(int i, int attempt, String method, String path, byte[] body, int length,
                                             String contentType) {
    HttpRequest.Builder rb = HttpRequest.newBuilder(urls.get(i).resolve(path)).timeout(timeout)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body, 0, length));
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
              return sendTo(j, attempt + 1, method, path, body, length, contentType);
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
      Throwable cause = unwrap(e);
      String msg = "cannot reach Elasticsearch/OpenSearch at " + urls + ": " + explain(cause);
      if (isTlsTrustFailure(cause)) {
        // Waiting does not make a certificate trusted: fail at once with what to fix.
        throw new IllegalStateException(msg, cause);
      }
      throw new EsUnavailableException(msg, cause);
    }
  }

  /** Releases the HTTP client's connections and threads; requests still in flight fail. */
  @Override
  public void close() {
    http.shutdownNow();
    executor.shutdown();
  }

  /** {@link #describe(Throwable)} with this client's trust source named in TLS errors. */
  public String explain(Throwable t) {
    t = unwrap(t);
    if (isTlsTrustFailure(t)) {
      String detail = rootMessage(t);
      if (detail.contains("No subject alternative") || detail.contains("No name matching")) {
        return "TLS: the search engine's certificate does not name the host in indexer.urls (" + detail + ")";
      }
      return "TLS: the search engine's certificate is not trusted (" + detail + "): "
          + (caFile == null ? "set indexer.caFile to the PEM file of the CA that signed it"
              : "indexer.caFile (" + caFile + ") does not hold the CA that signed it");
    }
    return describe(t);
  }

  static boolean isTlsTrustFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLHandshakeException || c instanceof javax.net.ssl.SSLPeerUnverifiedException
          || c instanceof CertificateException || c instanceof java.security.cert.CertPathValidatorException) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    String msg = t.getMessage();
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null) {
        msg = c.getMessage();
      }
    }
    return String.valueOf(msg);
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
