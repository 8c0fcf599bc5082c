package io.iotpipe.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.BrokerConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/** A small client for the RabbitMQ management HTTP API: read state, declare things. */
public final class ManagementClient {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final BrokerConfig broker;
  private final URI base;
  private final String auth;
  private final HttpClient http;

  public ManagementClient(BrokerConfig broker) {
    if (broker.management() == null) {
      throw new TopologyException("broker \"" + broker.name() + "\" has no management URI: set brokers." + broker.name()
          + ".management (e.g. http://host:15672) so iotpipe can read and declare its topology");
    }
    this.broker = broker;
    // https with ?cacertfile=...: trust exactly that CA (the same query syntax as the amqps URIs).
    javax.net.ssl.SSLContext tls = io.iotpipe.core.tls.PemTls.contextFromUri(broker.management());
    HttpClient.Builder hb = HttpClient.newBuilder()
        // HTTP/1.1: the JDK client's default h2c upgrade breaks on requests with a body against the broker's web server.
        .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5));
    this.http = (tls == null ? hb : hb.sslContext(tls)).build();
    String b = io.iotpipe.core.tls.PemTls.withoutQuery(broker.management()).toString();
    this.base = URI.create(b.endsWith("/") ? b : b + "/");
    String pw = broker.password().reveal() == null ? "" : broker.password().reveal();
    this.auth = "Basic " + Base64.getEncoder().encodeToString((broker.username() + ":" + pw).getBytes(StandardCharsets.UTF_8));
  }

  public BrokerConfig broker() {
    return broker;
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  public String vhost() {
    return enc(broker.vhost());
  }

  public JsonNode get(String path) {
    return send("GET", path, null);
  }

  public void put(String path, Object body) {
    send("PUT", path, body);
  }

  public void post(String path, Object body) {
    send("POST", path, body);
  }

  /** Deletes {@code path}; one that is already gone (404) is fine. */
  public void delete(String path) {
    send("DELETE", path, null);
  }

  private JsonNode send(String method, String path, Object body) {
    URI uri = base.resolve("api/" + path);
    try {
      HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).header("Authorization", auth)
          .header("Content-Type", "application/json");
      rb.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      HttpResponse<byte[]> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() == 401) {
        throw new TopologyException("broker \"" + broker.name() + "\" refused the credentials of user \"" + broker.username()
            + "\" (HTTP 401 from " + base + "): check brokers." + broker.name() + ".username/password");
      }
      if (r.statusCode() == 404 && (method.equals("GET") || method.equals("DELETE"))) {
        return null;
      }
      if (r.statusCode() >= 300) {
        String text = new String(r.body(), StandardCharsets.UTF_8);
        JsonNode err = text.isBlank() ? null : JSON.readTree(text);
        String reason = err != null && err.has("reason") ? err.get("reason").asText() : text;
        throw new TopologyException(method + " " + uri.getPath() + " on broker \"" + broker.name() + "\" failed: HTTP "
            + r.statusCode() + ": " + Declaration.Shovel.masked(reason));
      }
      return r.body().length == 0 ? null : JSON.readTree(r.body());
    } catch (ConnectException e) {
      throw new TopologyException("cannot reach the management API of broker \"" + broker.name() + "\" at " + base
          + " (connection refused): is the node running with the rabbitmq_management plugin? (rabbitmq-plugins enable rabbitmq_management)");
    } catch (IOException e) {
      throw new TopologyException("cannot reach the management API of broker \"" + broker.name() + "\" at " + base + " ("
          + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TopologyException("interrupted while talking to " + base);
    }
  }
}
