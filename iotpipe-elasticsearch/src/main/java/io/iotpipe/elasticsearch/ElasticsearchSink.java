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
import java.util.Arrays;
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

  /**
   * Like {@link #prepare()}, but waits with backoff up to {@code timeout} for an engine that is still starting.
   * Throws {@link EsClient.EsUnavailableException} if it is still unreachable then, IllegalStateException if it
   * refuses the setup (credentials, invalid template).
   */
  public IndexSetup.Engine prepare(java.time.Duration timeout) {
    IndexSetup.Engine e = IndexSetup.apply(client, cfg, timeout);
    setupDone = true;
    return e;
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    try {
      return bulk(batch);
    } catch (RuntimeException e) {
      // A bug or a surprise in the client must not kill the consumer loop: the batch is offered again.
      LOG.warn("bulk of {} records failed before it was sent", batch.size(), e);
      return completed(batch.size(), Outcome.retry("search sink failed to send: " + e));
    }
  }

  private CompletionStage<List<Outcome>> bulk(List<SinkRecord> batch) {
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
        return completed(batch.size(), Outcome.retry(msg));
      }
    }
    long now = System.currentTimeMillis();
    ByteArrayOutputStream body = new ByteArrayOutputStream(batch.size() * 400);
    Outcome[] local = new Outcome[batch.size()];
    List<Integer> sent = new ArrayList<>(batch.size());
    Map<String, Integer> latestOf = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      Telemetry t = batch.get(i).telemetry();
      String bad = DocumentEncoder.unencodable(t);
      if (bad != null) {
        local[i] = Outcome.reject("cannot index " + t.id() + ": " + bad);
        continue;
      }
      encoder.appendEvent(body, t, now);
      sent.add(i);
      latestOf.merge(t.deviceId(), i, (a, b) -> batch.get(a).telemetry().seq() >= batch.get(b).telemetry().seq() ? a : b);
    }
    if (sent.isEmpty()) {
      return CompletableFuture.completedFuture(count(List.of(local)));
    }
    List<Integer> latestIdx = new ArrayList<>(latestOf.values());
    for (int i : latestIdx) {
      encoder.appendLatest(body, batch.get(i).telemetry(), now);
    }
    try {
      // Bounded pipelining: beyond maxInFlight the consumer thread waits here, which is the back-pressure we want.
      if (!inFlight.tryAcquire(cfg.requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS)) {
        return completed(batch.size(), Outcome.retry("bulk pipeline stuck: " + cfg.maxInFlight() + " requests in flight for "
            + cfg.requestTimeout().multipliedBy(2).toSeconds() + " s"));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return completed(batch.size(), Outcome.retry("interrupted"));
    }
    requests.increment();
    long start = System.nanoTime();
    CompletableFuture<EsClient.Response> response;
    try {
      response = client.send("POST", "/_bulk", body.toByteArray(), "application/x-ndjson");
    } catch (RuntimeException e) {
      inFlight.release();
      throw e;
    }
    return response.handle((resp, err) -> {
      inFlight.release();
      latency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      return count(outcomes(local, sent, latestIdx, resp, err));
    });
  }

  private List<Outcome> count(List<Outcome> out) {
    for (Outcome o : out) {
      (o instanceof Outcome.Delivered ? delivered : o instanceof Outcome.Retry ? retried : rejected).increment();
    }
    return out;
  }

  private CompletionStage<List<Outcome>> completed(int n, Outcome o) {
    return CompletableFuture.completedFuture(count(Collections.nCopies(n, o)));
  }

  /** Outcomes of a bulk that carried every record of the batch, in order (the unit tests' view). */
  static List<Outcome> outcomes(int n, List<Integer> latestIdx, EsClient.Response resp, Throwable err) {
    List<Integer> all = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      all.add(i);
    }
    return outcomes(new Outcome[n], all, latestIdx, resp, err);
  }

  /**
   * One outcome per batch record: {@code local} holds those decided before sending, {@code sent} the batch indices
   * of the event items in bulk order, followed in the response by one latest-state item per {@code latestIdx}.
   */
  static List<Outcome> outcomes(Outcome[] local, List<Integer> sent, List<Integer> latestIdx, EsClient.Response resp,
                                Throwable err) {
    Outcome[] out = local.clone();
    Outcome all = null;
    if (err != null) {
      all = Outcome.retry("search engine unreachable: " + EsClient.describe(EsClient.unwrap(err)));
    } else if (resp.status() != 200) {
      all = BulkOutcomes.request(resp.status(), resp.text());
    } else {
      try {
        JsonNode root = JSON.readTree(resp.body());
        JsonNode items = root.path("items");
        if (!root.path("errors").asBoolean(true)) {
          all = Outcome.DELIVERED;
        } else if (items.size() != sent.size() + latestIdx.size()) {
          all = Outcome.retry("bulk response has " + items.size() + " items, expected " + (sent.size() + latestIdx.size()));
        } else {
          for (int k = 0; k < sent.size(); k++) {
            out[sent.get(k)] = BulkOutcomes.item(items.get(k), false);
          }
          for (int j = 0; j < latestIdx.size(); j++) {
            Outcome latest = BulkOutcomes.item(items.get(sent.size() + j), true);
            int i = latestIdx.get(j);
            // The event was indexed but the device's latest state was not: redo the record so the state catches up.
            if (latest instanceof Outcome.Retry && out[i] instanceof Outcome.Delivered) {
              out[i] = latest;
            }
          }
        }
      } catch (java.io.IOException e) {
        all = Outcome.retry("unreadable bulk response: " + e.getMessage());
      }
    }
    if (all != null) {
      for (int i : sent) {
        out[i] = all;
      }
    }
    return Arrays.asList(out);
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
    client.close();
  }
}
