package io.iotpipe.slo.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The few calls of the Prometheus HTTP API ({@code /api/v1/query}, {@code /api/v1/alerts}) the report needs. */
public final class PrometheusApi {

  /** One sample of an instant vector. */
  public record Sample(Map<String, String> labels, double value) {}

  /** One alert as {@code /api/v1/alerts} lists it. */
  public record Alert(Map<String, String> labels, String state, String activeAt, String value) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public PrometheusApi(URI base) {
    this.base = base;
  }

  public List<Sample> query(String promql) throws IOException {
    JsonNode data = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    List<Sample> out = new ArrayList<>();
    if (data.path("resultType").asText().equals("scalar")) {
      out.add(new Sample(Map.of(), value(data.path("result").path(1).asText())));
      return out;
    }
    for (JsonNode r : data.path("result")) {
      out.add(new Sample(labels(r.path("metric")), value(r.path("value").path(1).asText())));
    }
    return out;
  }

  public List<Alert> alerts() throws IOException {
    JsonNode data = get("/api/v1/alerts");
    List<Alert> out = new ArrayList<>();
    for (JsonNode a : data.path("alerts")) {
      out.add(new Alert(labels(a.path("labels")), a.path("state").asText(), a.path("activeAt").asText(), a.path("value").asText()));
    }
    return out;
  }

  private static double value(String s) {
    return switch (s) {
      case "NaN" -> Double.NaN;
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(s);
    };
  }

  private static Map<String, String> labels(JsonNode n) {
    Map<String, String> m = new LinkedHashMap<>();
    n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  private JsonNode get(String path) throws IOException {
    URI uri = URI.create(base.toString().replaceAll("/+$", "") + path);
    HttpResponse<String> r;
    try {
      r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IOException("cannot reach Prometheus at " + base + " (" + e + "): is it running, and is --prometheus its base URL?", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    JsonNode body;
    try {
      body = JSON.readTree(r.body());
    } catch (IOException e) {
      throw new IOException(uri + " answered " + r.statusCode() + " with something that is not the Prometheus API's JSON:"
          + " is --prometheus the server's base URL (e.g. http://127.0.0.1:9090)?");
    }
    if (!"success".equals(body.path("status").asText())) {
      throw new IOException("Prometheus refused " + uri.getPath() + ": " + body.path("errorType").asText() + ": " + body.path("error").asText());
    }
    return body.path("data");
  }
}
