package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
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
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The search sink: one {@code _bulk} request per batch, answered per record from the per-item results, with up to
 * {@code maxInFlight} requests and {@code maxInFlightBytes} of request bodies pipelined (the engine indexes one bulk
 * while the next is on the wire — where the throughput of a one-request-at-a-time loop is lost — and large readings
 * cannot multiply the heap).
 *
 * <p>Events are written with {@code create}: a 409 means the id {@code deviceId:seq} exists, and the stored document
 * decides (see {@link Conflicts}) between a redelivery (delivered) and a different reading (rejected, the first kept).
 *
 * <p>Every failure becomes an {@link Outcome}, never an exception: the consumer loop retries or dead-letters, and
 * acks only what the engine acknowledged. Partitions need no per-partition state here ({@link #open(String)} and
 * {@link #close(String)} keep the defaults): a bulk still in flight for a partition that was handed over may land
 * after the handover, which is harmless because {@code create} with the same ids is idempotent.
 */
public final class ElasticsearchSink implements Sink {

  private static final Logger LOG = LoggerFactory.getLogger(ElasticsearchSink.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Only what the outcomes need: an item shrinks from ~250 bytes (shards, seq_no, version...) to ~25, which the engine
   * does not serialise and the indexer does not parse.
   */
  static final String BULK_PATH = "/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason,"
      + "items.*.error.caused_by.type,items.*.error.caused_by.reason";

  private final IndexerConfig cfg;
  private final EsClient client;
  private final DocumentEncoder encoder;
  private final Semaphore inFlight;
  /** Bytes of request bodies in flight, in KiB so that a 1 TiB bound still fits an int; fair, so big bulks are not starved. */
  private final Semaphore inFlightKiB;
  private final int budgetKiB;
  private final Clock clock;
  private final Counter requests;
  private final Counter delivered;
  private final Counter retried;
  private final Counter rejected;
  private final Counter redelivered;
  private final Counter conflicting;
  private final Timer latency;
  private final AtomicReference<Failing> failing = new AtomicReference<>();
  private volatile boolean setupDone;
  private volatile String lastSetupError;
  /** The index setup tried early, while the consumer connects and subscribes (see {@link #open}); null before. */
  private volatile CompletableFuture<Void> earlySetup;
  private final java.util.concurrent.Executor workers;

  /** Since when requests to the engine fail, and the latest reason. */
  private record Failing(Instant since, String reason) {}

  /** The sink run without the runtime (tests, tools): the index setup runs on a thread of its own. */
  public ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry) {
    this(cfg, registry, Clock.systemUTC(), r -> Thread.ofPlatform().daemon().name("elk-index-setup").start(r));
  }

  ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, Clock clock) {
    this(cfg, registry, clock, r -> Thread.ofPlatform().daemon().name("elk-index-setup").start(r));
  }

  /** @param workers where the early index setup runs: the runtime's worker threads ({@code SinkContext.workers()}) */
  public ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, Clock clock, java.util.concurrent.Executor workers) {
    this.workers = workers;
    this.cfg = cfg;
    this.client = new EsClient(cfg);
    this.encoder = new DocumentEncoder(cfg);
    this.inFlight = new Semaphore(cfg.maxInFlight());
    this.budgetKiB = (int) Math.min(Integer.MAX_VALUE, Math.max(1, cfg.maxInFlightBytes() >> 10));
    this.inFlightKiB = new Semaphore(budgetKiB, true);
    this.clock = clock;
    this.requests = registry.counter("iotpipe.es.bulk.requests");
    this.delivered = registry.counter("iotpipe.es.bulk.items", "outcome", "delivered");
    this.retried = registry.counter("iotpipe.es.bulk.items", "outcome", "retry");
    this.rejected = registry.counter("iotpipe.es.bulk.items", "outcome", "reject");
    this.redelivered = registry.counter("iotpipe.es.conflicts", "result", "same-content");
    this.conflicting = registry.counter("iotpipe.es.conflicts", "result", "different-content");
    this.latency = registry.timer("iotpipe.es.bulk.latency");
  }

  @Override
  public String name() {
    return "elk";
  }

  /**
   * Starts the index setup (engine check, template, latest-state index: three round trips, 0.4–1.3 s measured at a
   * restart) in the background when the first partition opens, so that it overlaps subscribing and the first
   * deliveries instead of delaying the first bulk. A failure here is silent: the first write tries again and reports.
   */
  @Override
  public void open(String partition) {
    if (!setupDone && earlySetup == null) {
      synchronized (this) {
        if (earlySetup == null) {
          earlySetup = new CompletableFuture<>();
          workers.execute(() -> {
            try {
              prepare();
            } catch (RuntimeException e) {
              LOG.debug("early index setup failed ({}); the first bulk tries again", e.getMessage());
            } finally {
              earlySetup.complete(null);
            }
          });
        }
      }
    }
  }

  /** Applies templates and the latest-state index now (else before the first bulk). Throws if unreachable. */
  public IndexSetup.Engine prepare() {
    IndexSetup.Engine e = IndexSetup.apply(client, cfg);
    setupDone = true;
    succeeded();
    return e;
  }

  /**
   * Like {@link #prepare()}, but waits with backoff up to {@code timeout} for an engine that is still starting.
   * Throws {@link EsClient.EsUnavailableException} if it is still unreachable then, IllegalStateException if it
   * refuses the setup (credentials, invalid template, untrusted certificate).
   */
  public IndexSetup.Engine prepare(Duration timeout) {
    IndexSetup.Engine e = IndexSetup.apply(client, cfg, timeout);
    setupDone = true;
    succeeded();
    return e;
  }

  /**
   * DEGRADED once requests to the engine have failed as a whole (unreachable, TLS, credentials, 5xx) for longer than
   * {@code indexer.consumer.degradedAfter}, with the reason and since when; UP again after the next success.
   */
  @Override
  public SinkHealth health() {
    Failing f = failing.get();
    if (f == null || Duration.between(f.since(), clock.instant()).compareTo(cfg.consumer().degradedAfter()) < 0) {
      return SinkHealth.UP;
    }
    return SinkHealth.degraded("search engine failing since " + f.since().truncatedTo(ChronoUnit.SECONDS) + ": " + f.reason());
  }

  private void failed(String reason) {
    Instant now = clock.instant();
    failing.updateAndGet(f -> new Failing(f == null ? now : f.since(), reason));
  }

  private void succeeded() {
    if (failing.getAndSet(null) != null) {
      LOG.info("search engine answers again");
    }
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
    CompletableFuture<Void> early = earlySetup;
    if (!setupDone && early != null) {
      try {
        early.get(cfg.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        // tried again below
      }
    }
    if (!setupDone) {
      try {
        prepare();
      } catch (RuntimeException e) {
        // Engine down at start: the indexer keeps running and retries; it recovers without a restart.
        String msg = "search engine not ready: " + e.getMessage();
        failed(msg);
        if (!msg.equals(lastSetupError)) {
          LOG.warn(msg);
          lastSetupError = msg;
        }
        return completed(batch.size(), Outcome.retry(msg));
      }
    }
    DocumentEncoder.Bulk body = encoder.bulk(sizeHint(batch), clock.millis());
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
      body.event(t);
      sent.add(i);
      if (cfg.latestState()) {
        latestOf.merge(t.deviceId(), i, (a, b) -> batch.get(a).telemetry().seq() >= batch.get(b).telemetry().seq() ? a : b);
      }
    }
    if (sent.isEmpty()) {
      return CompletableFuture.completedFuture(count(List.of(local)));
    }
    List<Integer> latestIdx = new ArrayList<>(latestOf.values());
    for (int i : latestIdx) {
      body.latest(batch.get(i).telemetry());
    }
    body.finish();
    // A bulk larger than the whole budget goes alone rather than never.
    int kib = Math.min(budgetKiB, (body.length() >> 10) + 1);
    try {
      // Bounded pipelining by count and by bytes: beyond either the consumer thread waits here, which is the
      // back-pressure we want (the broker's prefetch then stops deliveries).
      long waitMs = cfg.requestTimeout().toMillis() * 2;
      if (!inFlight.tryAcquire(waitMs, TimeUnit.MILLISECONDS)) {
        return completed(batch.size(), stuck());
      }
      if (!inFlightKiB.tryAcquire(kib, waitMs, TimeUnit.MILLISECONDS)) {
        inFlight.release();
        return completed(batch.size(), stuck());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return completed(batch.size(), Outcome.retry("interrupted"));
    }
    requests.increment();
    long start = System.nanoTime();
    CompletableFuture<EsClient.Response> response;
    try {
      response = client.send("POST", BULK_PATH, body.array(), body.length(), "application/x-ndjson");
    } catch (RuntimeException e) {
      inFlight.release();
      inFlightKiB.release(kib);
      throw e;
    }
    return response.handle((resp, err) -> {
      inFlightKiB.release(kib);
      latency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      Verdict v = outcomes(local, sent, latestIdx, resp, err, client::explain);
      if (v.requestFailure() != null) {
        failed(v.requestFailure());
      } else {
        succeeded();
      }
      return v;
    }).thenCompose(v -> resolveConflicts(batch, v)).thenApply(this::count)
        // The count permit is held through the conflict check, so close() also waits for that.
        .whenComplete((out, e) -> inFlight.release());
  }

  private Outcome stuck() {
    return Outcome.retry("bulk pipeline stuck: " + cfg.maxInFlight() + " requests / " + cfg.maxInFlightBytes() / (1 << 20)
        + " MiB in flight for " + cfg.requestTimeout().multipliedBy(2).toSeconds() + " s");
  }

  /** Room for the events and about as many latest-state documents, so a typical bulk never regrows its buffer. */
  private int sizeHint(List<SinkRecord> batch) {
    long bytes = 0;
    for (SinkRecord r : batch) {
      bytes += Math.max(r.body().length, 200) + 120;
    }
    return (int) Math.min(Integer.MAX_VALUE - 16, cfg.latestState() ? bytes * 3 / 2 : bytes + 1024);
  }

  private CompletionStage<List<Outcome>> resolveConflicts(List<SinkRecord> batch, Verdict v) {
    if (v.conflicts().isEmpty()) {
      return CompletableFuture.completedFuture(v.outcomes());
    }
    List<Telemetry> tried = v.conflicts().stream().map(i -> batch.get(i).telemetry()).toList();
    CompletableFuture<EsClient.Response> fetched;
    try {
      fetched = client.send("POST", Conflicts.MGET_PATH, Conflicts.mgetBody(encoder, tried), "application/json");
    } catch (RuntimeException e) {
      fetched = CompletableFuture.failedFuture(e);
    }
    return fetched.handle((resp, err) -> {
      List<Outcome> resolved = Conflicts.resolve(tried, resp, err, client::explain);
      for (Outcome o : resolved) {
        if (o instanceof Outcome.Delivered) {
          redelivered.increment();
        } else if (o instanceof Outcome.Reject r) {
          conflicting.increment();
          LOG.warn("{}", r.reason());
        }
      }
      return v.resolve(resolved);
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

  /**
   * What a bulk response says about a batch before conflicts are checked.
   *
   * @param events          per batch record: its outcome, or null for a conflict still to be checked
   * @param latestFailed    per batch record: the retry its latest-state item needs, or null
   * @param conflicts       batch indices whose {@code create} met an existing document
   * @param requestFailure  why the request failed as a whole (unreachable, HTTP status, unreadable), or null
   */
  record Verdict(Outcome[] events, Outcome[] latestFailed, List<Integer> conflicts, String requestFailure) {

    static final Outcome UNCHECKED = Outcome.retry("already indexed; not yet compared with the stored document");

    /** The outcomes with conflicts still unchecked (the unit tests' view of a bulk response alone). */
    List<Outcome> outcomes() {
      return resolve(Collections.nCopies(conflicts.size(), UNCHECKED));
    }

    /** The outcomes, given one outcome per conflict (in {@link #conflicts()} order). */
    List<Outcome> resolve(List<Outcome> resolved) {
      Outcome[] out = events.clone();
      for (int k = 0; k < conflicts.size(); k++) {
        out[conflicts.get(k)] = resolved.get(k);
      }
      for (int i = 0; i < out.length; i++) {
        // The event is stored but the device's latest state is not: redo the record so the state catches up.
        if (latestFailed[i] != null && out[i] instanceof Outcome.Delivered) {
          out[i] = latestFailed[i];
        }
      }
      return Arrays.asList(out);
    }
  }

  /** The verdict on a bulk that carried every record of the batch, in order (the unit tests' view). */
  static Verdict outcomes(int n, List<Integer> latestIdx, EsClient.Response resp, Throwable err) {
    List<Integer> all = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      all.add(i);
    }
    return outcomes(new Outcome[n], all, latestIdx, resp, err, EsClient::describe);
  }

  /**
   * The verdict on one bulk: {@code local} holds the outcomes decided before sending, {@code sent} the batch indices
   * of the event items in bulk order, followed in the response by one latest-state item per {@code latestIdx}.
   */
  static Verdict outcomes(Outcome[] local, List<Integer> sent, List<Integer> latestIdx, EsClient.Response resp,
                          Throwable err, Function<Throwable, String> describe) {
    Outcome[] out = local.clone();
    Outcome[] latestFailed = new Outcome[local.length];
    List<Integer> conflicts = new ArrayList<>();
    Outcome all = null;
    if (err != null) {
      all = Outcome.retry("search engine unreachable: " + describe.apply(EsClient.unwrap(err)));
    } else if (resp.status() != 200) {
      all = BulkOutcomes.request(resp.status(), resp.text());
    } else {
      try {
        if (!errorsFlag(resp.body())) {
          all = Outcome.DELIVERED;
        } else {
          JsonNode items = JSON.readTree(resp.body()).path("items");
          if (items.size() != sent.size() + latestIdx.size()) {
            all = Outcome.retry("bulk response has " + items.size() + " items, expected " + (sent.size() + latestIdx.size()));
          } else {
            for (int k = 0; k < sent.size(); k++) {
              JsonNode item = items.get(k);
              if (BulkOutcomes.isConflict(item)) {
                conflicts.add(sent.get(k));
              } else {
                out[sent.get(k)] = BulkOutcomes.item(item, false);
              }
            }
            for (int j = 0; j < latestIdx.size(); j++) {
              Outcome latest = BulkOutcomes.item(items.get(sent.size() + j), true);
              if (latest instanceof Outcome.Retry) {
                latestFailed[latestIdx.get(j)] = latest;
              }
            }
          }
        }
      } catch (IOException e) {
        all = Outcome.retry("unreadable bulk response: " + e.getMessage());
      }
    }
    if (all != null) {
      for (int i : sent) {
        out[i] = all;
      }
      conflicts.clear();
    }
    String requestFailure = all instanceof Outcome.Retry r ? r.reason() : null;
    return new Verdict(out, latestFailed, conflicts, requestFailure);
  }

  /**
   * The response's top-level {@code errors} flag, read by streaming: when it is false (almost always) the items need
   * not be parsed into a tree at all. Unreadable or absent counts as true, so the items are then checked.
   */
  static boolean errorsFlag(byte[] body) throws IOException {
    try (JsonParser p = JSON.getFactory().createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        if ("errors".equals(field)) {
          return v != JsonToken.VALUE_FALSE;
        }
        p.skipChildren();
      }
      return true;
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
    client.close();
  }
}
