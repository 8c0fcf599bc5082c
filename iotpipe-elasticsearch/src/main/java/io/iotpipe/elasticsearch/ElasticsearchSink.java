package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.sink.Outcome;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.core.sink.SinkRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The search sink: one {@code _bulk} request per batch, answered per record from the per-item results, with up to
 * {@code maxInFlight} requests pipelined (the engine indexes one bulk while the next is on the wire — where the
 * throughput of a one-request-at-a-time loop is lost).
 *
 * <p>Every failure becomes an {@link Outcome}, never an exception: the consumer loop retries or dead-letters, and
 * acks only what the engine acknowledged.
 */
public final class ElasticsearchSink implements Sink {

  private static final Logger LOG = LoggerFactory.getLogger(ElasticsearchSink.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final IndexerConfig cfg;
  private final EsClient client;
  private final DocumentEncoder encoder;
  private final Semaphore inFlight;
  private final Counter requests;
  private final Counter delivered;
  private final Counter retried;
  private final Counter rejected;
  private final Timer latency;
  private volatile boolean setupDone;
  private volatile String lastSetupError;

  public ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry) {
    this.cfg = cfg;
    this.client = new EsClient(cfg);
    this.encoder = new DocumentEncoder(cfg);
    this.inFlight = new Semaphore(cfg.maxInFlight());
    this.requests = registry.counter("iotpipe.es.bulk.requests");
    this.delivered = registry.counter("iotpipe.es.bulk.items", "outcome", "delivered");
    this.retried = registry.counter("iotpipe.es.bulk.items", "outcome", "retry");
    this.rejected = registry.counter("iotpipe.es.bulk.items", "outcome", "reject");
    this.latency = registry.timer("iotpipe.es.bulk.latency");
  }

  @Override
  public String name() {
    return "elk";
  }

  /** Applies templates and the latest-state index now (else before the first bulk). Throws if unreachable. */
  public IndexSetup.Engine prepare() {
    IndexSetup.Engine e = IndexSetup.apply(client, cfg);
    setupDone = true;
    return e;
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    if (batch.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    if (!setupDone) {
      try {
        prepare();
      } catch (RuntimeException e) {
        // Engine down at start: the indexer keeps running and retries; it recovers without a restart.
        String msg = "search engine not ready: " + e.getMessage();
        if (!msg.equals(lastSetupError)) {
          LOG.warn(msg);
          lastSetupError = msg;
        }
        return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.retry(msg)));
      }
    }
    long now = System.currentTimeMillis();
    ByteArrayOutputStream body = new ByteArrayOutputStream(batch.size() * 400);
    Map<String, Integer> latestOf = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      Telemetry t = batch.get(i).telemetry();
      encoder.appendEvent(body, t, now);
      latestOf.merge(t.deviceId(), i, (a, b) -> batch.get(a).telemetry().seq() >= batch.get(b).telemetry().seq() ? a : b);
    }
    List<Integer> latestIdx = new ArrayList<>(latestOf.values());
    for (int i : latestIdx) {
      encoder.appendLatest(body, batch.get(i).telemetry(), now);
    }
    try {
      // Bounded pipelining: beyond maxInFlight the consumer thread waits here, which is the back-pressure we want.
      if (!inFlight.tryAcquire(cfg.requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS)) {
        return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.retry("bulk pipeline stuck")));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.retry("interrupted")));
    }
    requests.increment();
    long start = System.nanoTime();
    return client.send("POST", "/_bulk", body.toByteArray(), "application/x-ndjson")
        .handle((resp, err) -> {
          inFlight.release();
          latency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
          List<Outcome> out = outcomes(batch.size(), latestIdx, resp, err);
          for (Outcome o : out) {
            (o instanceof Outcome.Delivered ? delivered : o instanceof Outcome.Retry ? retried : rejected).increment();
          }
          return out;
        });
  }

  static List<Outcome> outcomes(int n, List<Integer> latestIdx, EsClient.Response resp, Throwable err) {
    if (err != null) {
      Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
      return Collections.nCopies(n, Outcome.retry("search engine unreachable: " + EsClient.describe(cause)));
    }
    if (resp.status() != 200) {
      return Collections.nCopies(n, BulkOutcomes.request(resp.status(), resp.text()));
    }
    try {
      JsonNode root = JSON.readTree(resp.body());
      if (!root.path("errors").asBoolean(true)) {
        return Collections.nCopies(n, Outcome.DELIVERED);
      }
      JsonNode items = root.path("items");
      if (items.size() != n + latestIdx.size()) {
        return Collections.nCopies(n, Outcome.retry("bulk response has " + items.size() + " items, expected " + (n + latestIdx.size())));
      }
      List<Outcome> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(BulkOutcomes.item(items.get(i), false));
      }
      for (int j = 0; j < latestIdx.size(); j++) {
        Outcome latest = BulkOutcomes.item(items.get(n + j), true);
        int i = latestIdx.get(j);
        // The event was indexed but the device's latest state was not: redo the record so the state catches up.
        if (latest instanceof Outcome.Retry && out.get(i) instanceof Outcome.Delivered) {
          out.set(i, latest);
        }
      }
      return out;
    } catch (java.io.IOException e) {
      return Collections.nCopies(n, Outcome.retry("unreadable bulk response: " + e.getMessage()));
    }
  }

  @Override
  public void close() {
    // Wait for in-flight bulks so their outcomes reach the consumer before it closes its channels.
    try {
      if (inFlight.tryAcquire(cfg.maxInFlight(), cfg.requestTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
        inFlight.release(cfg.maxInFlight());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
