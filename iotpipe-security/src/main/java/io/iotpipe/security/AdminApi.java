package io.iotpipe.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.Secret;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import javax.net.ssl.SSLContext;

/**
 * The few management API calls enrollment needs (definitions import, user and connection deletion), over HTTPS
 * with the fleet CA as the only trust anchor. Separate from the topology module's client because that one has no
 * TLS trust settings and this module must not depend on it; the lead may fold the two together.
 */
public final class AdminApi {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final URI base;
  private final String user;
  private final String auth;
  private final HttpClient http;

  /**
   * @param management e.g. {@code https://localhost:15671}
   * @param tls        trust for an {@code https} URI (e.g. {@link Pki#sslContext(String)} with null); null = JDK default
   */
  public AdminApi(URI management, String user, Secret password, SSLContext tls) {
    String b = management.toString();
    this.base = URI.create(b.endsWith("/") ? b : b + "/");
    this.user = user;
    String pw = password.reveal() == null ? "" : password.reveal();
    this.auth = "Basic " + Base64.getEncoder().encodeToString((user + ":" + pw).getBytes(StandardCharsets.UTF_8));
    HttpClient.Builder hb = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      hb.sslContext(tls);
    }
    this.http = hb.build();
  }

  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Response of a call: status and parsed JSON body (null when empty). */
  public record Response(int status, JsonNode body) {}

  public Response call(String method, String path, Object body) {
    HttpRequest.Builder rb = HttpRequest.newBuilder(base.resolve("api/" + path)).timeout(Duration.ofSeconds(120))
        .header("Authorization", auth).header("Content-Type", "application/json");
    try {
      rb.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      HttpResponse<byte[]> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode json = r.body().length == 0 ? null : parse(r.body());
      return new Response(r.statusCode(), json);
    } catch (IOException e) {
      throw new SecurityException("management API at " + base + " unreachable (" + e.getMessage()
          + "): is the node running, and does the URI use https with the fleet CA?", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SecurityException("interrupted calling " + base);
    }
  }

  private static JsonNode parse(byte[] b) {
    try {
      return JSON.readTree(b);
    } catch (IOException e) {
      return null;
    }
  }

  /** As {@link #call} but fails on anything but 2xx (404 too), naming the call, never the credentials. */
  public JsonNode require(String method, String path, Object body) {
    Response r = call(method, path, body);
    if (r.status() == 401) {
      throw new SecurityException("the management API at " + base + " refused user \"" + user
          + "\" (HTTP 401): check the administrator credentials (secrets/" + user + ".password)");
    }
    if (r.status() >= 300) {
      String reason = r.body() != null && r.body().has("reason") ? r.body().get("reason").asText() : String.valueOf(r.body());
      throw new SecurityException(method + " " + path + " on " + base + " failed with HTTP " + r.status() + ": " + reason);
    }
    return r.body();
  }

  /**
   * The management API of a configured broker: its management URI's {@code ?cacertfile=} if given, else the fleet
   * CA of {@code pki} for {@code https} (null pki: the JVM's default trust).
   */
  public static AdminApi forBroker(io.iotpipe.core.config.BrokerConfig b, Pki pki) {
    if (b.management() == null) {
      throw new SecurityException("broker \"" + b.name() + "\" has no management URI: set brokers." + b.name() + ".management");
    }
    SSLContext tls = io.iotpipe.core.tls.PemTls.contextFromUri(b.management());
    if (tls == null && pki != null && "https".equals(b.management().getScheme())) {
      tls = pki.sslContext(null);
    }
    return new AdminApi(io.iotpipe.core.tls.PemTls.withoutQuery(b.management()), b.username(), b.password(), tls);
  }

  public URI base() {
    return base;
  }
}
