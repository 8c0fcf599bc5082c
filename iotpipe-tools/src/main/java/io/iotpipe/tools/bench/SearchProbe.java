package io.iotpipe.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Device → searchable, measured as a user sees it: a probe device publishes a reading to the edge every
 * {@link #EVERY_MS} ms (beside the fleet), and the probe searches OpenSearch for the outstanding ones every
 * {@link #POLL_MS} ms (a search, not a real-time get: only what a refresh made visible is found). Latency is found
 * minus published, to within one poll.
 */
final class SearchProbe implements AutoCloseable {

  static final long EVERY_MS = 250;
  static final long POLL_MS = 100;
  /** A probe not found within this long counts as missing (reported), not as a latency. */
  static final long GIVE_UP_MS = 60_000;

  private final IotpipeConfig cfg;
  private final Thread thread;
  private final List<Double> latencies = new ArrayList<>();
  private volatile boolean stopping;
  private volatile long missing;
  private volatile long published;
  private volatile String error;

  SearchProbe(IotpipeConfig cfg) {
    this.cfg = cfg;
    this.thread = Thread.ofPlatform().name("bench-search-probe").daemon().start(this::loop);
  }

  private void loop() {
    String device = "probe-" + UUID.randomUUID().toString().substring(0, 6);
    TelemetryCodec codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC());
    HttpClient http = HttpClient.newHttpClient();
    URI search = URI.create(cfg.indexer().urls().getFirst().toString().replaceAll("/$", "") + "/" + cfg.indexer().indexPrefix()
        + "*/_search");
    Map<String, Long> outstanding = new LinkedHashMap<>();
    long seq = 0;
    long nextPublish = 0;
    try (var conn = Amqp.connect(cfg.broker(cfg.simulator().edge()), "bench-search-probe");
         ConfirmingPublisher pub = new ConfirmingPublisher(conn.createChannel(), 100)) {
      while (!stopping || !outstanding.isEmpty()) {
        long now = System.currentTimeMillis();
        if (!stopping && now >= nextPublish) {
          nextPublish = now + EVERY_MS;
          seq++;
          Telemetry t = new Telemetry(device, seq, Instant.ofEpochMilli(now), "probe-site", cfg.simulator().regions().getFirst().name(),
              "CHARGING", null, BenchCommand.rows(1).getFirst().metrics());
          var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().contentType("application/json").deliveryMode(2)
              .messageId(t.id()).timestamp(new java.util.Date(now)).headers(Map.of("x-published-at", now)).build();
          pub.publish(cfg.topology().names().edgeIngress(), "telemetry." + device, props, codec.encode(t));
          outstanding.put(t.id(), now);
          published++;
        }
        if (!outstanding.isEmpty()) {
          String body = "{\"size\":" + outstanding.size() + ",\"_source\":false,\"query\":{\"ids\":{\"values\":"
              + Output.json().writeValueAsString(outstanding.keySet()) + "}}}";
          var resp = http.send(HttpRequest.newBuilder(search).timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
          long found = System.currentTimeMillis();
          if (resp.statusCode() == 200) {
            for (JsonNode hit : Output.json().readTree(resp.body()).path("hits").path("hits")) {
              Long at = outstanding.remove(hit.path("_id").asText());
              if (at != null) {
                synchronized (latencies) {
                  latencies.add((double) (found - at));
                }
              }
            }
          }
          outstanding.values().removeIf(at -> {
            boolean late = found - at > GIVE_UP_MS || stopping && found - at > GIVE_UP_MS / 6;
            if (late) {
              missing++;
            }
            return late;
          });
        }
        TimeUnit.MILLISECONDS.sleep(POLL_MS); // the probe's polling period, part of its resolution
      }
    } catch (Exception e) {
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  /** Stops publishing, waits for the outstanding probes (at most 10 s), and reports p50/p99/max in ms. */
  Map<String, Object> finish() throws InterruptedException {
    stopping = true;
    thread.join(15_000);
    List<Double> xs;
    synchronized (latencies) {
      xs = latencies.stream().sorted().toList();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("probes", xs.size());
    m.put("p50", xs.isEmpty() ? Double.NaN : xs.get((int) Math.min(xs.size() - 1, Math.ceil(0.50 * xs.size()) - 1)));
    m.put("p99", xs.isEmpty() ? Double.NaN : xs.get((int) Math.min(xs.size() - 1, Math.ceil(0.99 * xs.size()) - 1)));
    m.put("max", xs.isEmpty() ? Double.NaN : xs.getLast());
    m.put("missing", missing);
    if (error != null) {
      m.put("error", error);
    }
    return m;
  }

  /** Probe readings sent: they reach the sinks beside the fleet's. */
  long published() {
    return published;
  }

  @Override
  public void close() throws InterruptedException {
    stopping = true;
    thread.join(15_000);
  }
}
