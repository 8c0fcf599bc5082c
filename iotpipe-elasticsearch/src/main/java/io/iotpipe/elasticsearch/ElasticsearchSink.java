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
  private final BulkSizer sizer;
  /** Runs the continuations of bulks (splits after a 413), which may wait for permits; daemon threads, made on demand. */
  private final java.util.concurrent.ExecutorService splitter = java.util.concurrent.Executors.newCachedThreadPool(
      r -> Thread.ofPlatform().daemon().name("elk-bulk-split").unstarted(r));
  /** Batches whose outcomes are not complete yet. */
  private final java.util.Set<CompletableFuture<List<Outcome>>> pending = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean setupDone;
  private volatile String lastSetupError;
  /** The index setup tried early, while the consumer connects and subscribes (see {@link #open}); null before. */
  private volatile CompletableFuture<Void> earlySetup;
  private final java.util.concurrent.Executor workers;

  /** Since when requests to the engine fail, the latest reason, and whether that is a refused login (401/403). */
  private record Failing(Instant since, String reason, boolean credentials) {}

  /** The sink run without the runtime (tests, tools): the index setup runs on a thread of its own. */
  public ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry) {
    this(cfg, registry, Clock.systemUTC(), r -> Thread.ofPlatform().daemon().name("elk-index-setup").start(r));
  }

  ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, Clock clock) {
    this(cfg, registry, clock, r -> Thread.ofPlatform().daemon().name("elk-index-setup").start(r));
  }

  /** @param workers where the early index setup runs: the runtime's worker threads ({@code SinkContext.workers()}) */
  public ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, Clock clock, java.util.concurrent.Executor workers) {
    this(cfg, registry, clock, workers, "");
  }

  /**
   * The sink writing its event documents into indices named with {@code indexSuffix} appended ({@link Reindexer}'s
   * rebuild beside the live indices); the latest-state index is {@code cfg}'s.
   */
  ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, String indexSuffix) {
    this(cfg, registry, Clock.systemUTC(), r -> Thread.ofPlatform().daemon().name("elk-index-setup").start(r), indexSuffix);
  }

  private ElasticsearchSink(IndexerConfig cfg, MeterRegistry registry, Clock clock, java.util.concurrent.Executor workers,
                            String indexSuffix) {
    this.workers = workers;
    this.cfg = cfg;
    this.client = new EsClient(cfg);
    this.encoder = new DocumentEncoder(cfg, indexSuffix);
    this.inFlight = new Semaphore(cfg.maxInFlight());
    this.budgetKiB = (int) Math.min(Integer.MAX_VALUE, Math.max(1, cfg.maxInFlightBytes() >> 10));
    this.inFlightKiB = new Semaphore(budgetKiB, true);
    this.clock = clock;
    this.sizer = new BulkSizer(clock);
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
   * {@code indexer.consumer.degradedAfter}, with the reason and since when; UP again after the next success. A
   * refused login (401/403) says so and turns DOWN after ten times {@code degradedAfter}: waiting does not fix
   * credentials, an operator does (and a restart picks up a rotated secret), while nothing is dead-lettered meanwhile.
   */
  @Override
  public SinkHealth health() {
    Failing f = failing.get();
    Duration failingFor = f == null ? Duration.ZERO : Duration.between(f.since(), clock.instant());
    if (f == null || failingFor.compareTo(cfg.consumer().degradedAfter()) < 0) {
      return SinkHealth.UP;
    }
    String reason = "search engine failing since " + f.since().truncatedTo(ChronoUnit.SECONDS) + ": " + f.reason();
    if (f.credentials() && failingFor.compareTo(cfg.consumer().degradedAfter().multipliedBy(10)) >= 0) {
      return SinkHealth.down(reason);
    }
    return SinkHealth.degraded(reason);
  }

  private void failed(String reason, boolean credentials) {
    Instant now = clock.instant();
    failing.updateAndGet(f -> new Failing(f == null ? now : f.since(), reason, credentials));
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
        failed(msg, e instanceof IndexSetup.CredentialsRefused);
        if (!msg.equals(lastSetupError)) {
          LOG.warn(msg);
          lastSetupError = msg;
        }
        return completed(batch.size(), Outcome.retry(msg));
      }
    }
    Outcome[] local = new Outcome[batch.size()];
    List<Integer> sendable = new ArrayList<>(batch.size());
    List<Telemetry> readings = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Telemetry t = batch.get(i).telemetry();
      readings.add(t);
      String bad = DocumentEncoder.unencodable(t);
      if (bad != null) {
        local[i] = Outcome.reject("cannot index " + t.id() + ": " + bad);
      } else {
        sendable.add(i);
      }
    }
    if (sendable.isEmpty()) {
      return CompletableFuture.completedFuture(count(List.of(local)));
    }
    Merged merged = new Merged(local);
    long ingestMillis = clock.millis();
    CompletableFuture<List<Outcome>> done = run(batch, readings, BulkPart.of(sendable, readings, cfg.latestState()), ingestMillis, merged)
        .thenApply(v -> count(merged.outcomes()));
    // Between the parts of a split batch no request permit is held: close() waits for the batch itself.
    pending.add(done);
    done.whenComplete((out, e) -> pending.remove(done));
    return done;
  }

  /**
   * Sends one part and whatever it has to be split into. A part larger than the size the engine is known to take is
   * halved before it is sent; a part refused with 413 is halved and its halves sent one after the other; a single
   * document refused with 413 can never fit and is rejected with the reason (dead-lettered by the runtime).
   */
  private CompletableFuture<Void> run(List<SinkRecord> batch, List<Telemetry> readings, BulkPart part, long ingestMillis,
                                      Merged merged) {
    if (part.events().isEmpty() && part.latest().stream().allMatch(merged::rejected)) {
      // The latest state of a reading whose event was refused as too large: rejected already, nothing to send.
      return CompletableFuture.completedFuture(null);
    }
    DocumentEncoder.Bulk body = encode(batch, part, ingestMillis);
    if (part.splittable() && body.length() > sizer.limit()) {
      return runHalves(batch, readings, part, ingestMillis, merged);
    }
    int bodyBytes = body.length();
    return send(batch, part, body).thenCompose(v -> {
      if (!v.tooLarge()) {
        merged.add(part, v);
        return CompletableFuture.<Void>completedFuture(null);
      }
      // On the sink's own threads: a split sends again and may wait for pipeline permits, which must never block the
      // thread that completes responses (the JDK HttpClient completes on the common pool: one thread on 2 cores, whose
      // blocking would keep every other response, and so every permit release, waiting).
      return CompletableFuture.supplyAsync(() -> tooLarge(batch, readings, part, ingestMillis, merged, bodyBytes), splitter)
          .thenCompose(f -> f);
    }).exceptionally(e -> {
      // A surprise while splitting must not lose the batch: what is not decided yet is offered again.
      LOG.warn("bulk part of {} documents failed", part.documents(), e);
      merged.retryUndecided(part, "search sink failed: " + EsClient.unwrap(e));
      return null;
    });
  }

  /** A part refused with 413: halved, or rejected when it is a single document. */
  private CompletableFuture<Void> tooLarge(List<SinkRecord> batch, List<Telemetry> readings, BulkPart part, long ingestMillis,
                                           Merged merged, int bodyBytes) {
    if (part.splittable()) {
      LOG.info("search engine refused a bulk of {} documents ({} bytes) as too large (HTTP 413): halving it; bulks are"
          + " now cut at {} bytes", part.documents(), bodyBytes, sizer.limit());
      return runHalves(batch, readings, part, ingestMillis, merged);
    }
    boolean latestOnly = part.events().isEmpty();
    int i = latestOnly ? part.latest().get(0) : part.events().get(0);
    String reason = BulkOutcomes.documentTooLarge(readings.get(i).id(), latestOnly, bodyBytes);
    LOG.warn("{}", reason);
    merged.reject(i, reason);
    return CompletableFuture.completedFuture(null);
  }

  private CompletableFuture<Void> runHalves(List<SinkRecord> batch, List<Telemetry> readings, BulkPart part, long ingestMillis,
                                            Merged merged) {
    List<BulkPart> halves = part.halves(readings);
    // One after the other: the halves of a refused bulk should not compete with each other for the pipeline.
    return run(batch, readings, halves.get(0), ingestMillis, merged)
        .thenComposeAsync(v -> run(batch, readings, halves.get(1), ingestMillis, merged), splitter);
  }

  private DocumentEncoder.Bulk encode(List<SinkRecord> batch, BulkPart part, long ingestMillis) {
    DocumentEncoder.Bulk body = encoder.bulk(sizeHint(batch, part), ingestMillis);
    for (int i : part.events()) {
      body.event(batch.get(i).telemetry());
    }
    for (int i : part.latest()) {
      body.latest(batch.get(i).telemetry());
    }
    return body.finish();
  }

  /** One {@code _bulk} request for a part: the verdict on its documents, conflicts resolved. */
  private CompletableFuture<Verdict> send(List<SinkRecord> batch, BulkPart part, DocumentEncoder.Bulk body) {
    Outcome[] none = new Outcome[batch.size()];
    // A bulk larger than the whole budget goes alone rather than never.
    int kib = Math.min(budgetKiB, (body.length() >> 10) + 1);
    try {
      // Bounded pipelining by count and by bytes: beyond either the consumer thread waits here, which is the
      // back-pressure we want (the broker's prefetch then stops deliveries).
      long waitMs = cfg.requestTimeout().toMillis() * 2;
      if (!inFlight.tryAcquire(waitMs, TimeUnit.MILLISECONDS)) {
        return CompletableFuture.completedFuture(Verdict.all(none, part, stuck()));
      }
      if (!inFlightKiB.tryAcquire(kib, waitMs, TimeUnit.MILLISECONDS)) {
        inFlight.release();
        return CompletableFuture.completedFuture(Verdict.all(none, part, stuck()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.completedFuture(Verdict.all(none, part, Outcome.retry("interrupted")));
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
      Verdict v = outcomes(none, part.events(), part.latest(), resp, err, client::explain);
      if (v.tooLarge()) {
        sizer.refused(body.length());
        // The engine answers; a refused size is the bulk's fault, not an outage.
        succeeded();
      } else if (v.requestFailure() != null) {
        failed(v.requestFailure(), v.credentials());
      } else {
        sizer.passed(body.length());
        succeeded();
      }
      return v;
    }).thenCompose(v -> resolveConflicts(batch, v))
        // The count permit is held through the conflict check, so close() also waits for that.
        .whenComplete((out, e) -> inFlight.release());
  }

  /**
   * The outcomes of a batch assembled from its parts: per record the outcome of its event document, and the retry
   * its latest-state document needs, if any (the record is then redone so the state catches up).
   */
  private static final class Merged {
    private final Outcome[] events;
    private final Outcome[] latestFailed;

    Merged(Outcome[] local) {
      this.events = local.clone();
      this.latestFailed = new Outcome[local.length];
    }

    synchronized void add(BulkPart part, Verdict v) {
      for (int i : part.events()) {
        events[i] = v.events()[i];
      }
      for (int i : part.latest()) {
        if (v.latestFailed()[i] != null) {
          latestFailed[i] = v.latestFailed()[i];
        }
      }
    }

    synchronized void reject(int i, String reason) {
      // A latest-state document that never fits rejects its record even though the event is indexed: the reason says so.
      latestFailed[i] = null;
      events[i] = Outcome.reject(reason);
    }

    synchronized boolean rejected(int i) {
      return events[i] instanceof Outcome.Reject;
    }

    synchronized void retryUndecided(BulkPart part, String reason) {
      for (int i : part.events()) {
        if (events[i] == null) {
          events[i] = Outcome.retry(reason);
        }
      }
      for (int i : part.latest()) {
        if (latestFailed[i] == null) {
          latestFailed[i] = Outcome.retry(reason);
        }
      }
    }

    synchronized List<Outcome> outcomes() {
      Outcome[] out = events.clone();
      for (int i = 0; i < out.length; i++) {
        if (out[i] == null) {
          // Cannot happen (every part decides its events); offered again rather than lost if it ever does.
          out[i] = Outcome.retry("no outcome for this record (bug)");
        } else if (latestFailed[i] != null && out[i] instanceof Outcome.Delivered) {
          out[i] = latestFailed[i];
        }
      }
      return Arrays.asList(out);
    }
  }

  private Outcome stuck() {
    return Outcome.retry("bulk pipeline stuck: " + cfg.maxInFlight() + " requests / " + cfg.maxInFlightBytes() / (1 << 20)
        + " MiB in flight for " + cfg.requestTimeout().multipliedBy(2).toSeconds() + " s");
  }

  /** Room for the part's events and latest-state documents, so a typical bulk never regrows its buffer. */
  private static int sizeHint(List<SinkRecord> batch, BulkPart part) {
    long bytes = 1024;
    for (int i : part.events()) {
      bytes += Math.max(batch.get(i).body().length, 200) + 120;
    }
    for (int i : part.latest()) {
      bytes += Math.max(batch.get(i).body().length, 200) + 120;
    }
    return (int) Math.min(Integer.MAX_VALUE - 16, bytes);
  }

  private CompletionStage<Verdict> resolveConflicts(List<SinkRecord> batch, Verdict v) {
    if (v.conflicts().isEmpty()) {
      return CompletableFuture.completedFuture(v);
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
      return v.withResolved(resolved);
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
   * @param tooLarge        the engine or a proxy refused the body as too large (413): the part is to be split
   * @param credentials     the request failure is a refused login or missing rights (401/403), not an outage of the engine
   */
  record Verdict(Outcome[] events, Outcome[] latestFailed, List<Integer> conflicts, String requestFailure, boolean tooLarge,
                 boolean credentials) {

    static final Outcome UNCHECKED = Outcome.retry("already indexed; not yet compared with the stored document");

    /** Every document of {@code part} gets {@code o} (the pipeline was stuck, the thread interrupted). */
    static Verdict all(Outcome[] none, BulkPart part, Outcome o) {
      Outcome[] events = none.clone();
      Outcome[] latest = new Outcome[none.length];
      part.events().forEach(i -> events[i] = o);
      part.latest().forEach(i -> latest[i] = o);
      return new Verdict(events, latest, List.of(), null, false, false);
    }

    /** This verdict with the conflicts decided (one outcome per conflict, in {@link #conflicts()} order). */
    Verdict withResolved(List<Outcome> resolved) {
      Outcome[] out = events.clone();
      for (int k = 0; k < conflicts.size(); k++) {
        out[conflicts.get(k)] = resolved.get(k);
      }
      return new Verdict(out, latestFailed, List.of(), requestFailure, tooLarge, credentials);
    }

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
      if (all instanceof Outcome.Retry) {
        // A part may carry latest-state documents only (a split): they failed with the request.
        for (int i : latestIdx) {
          latestFailed[i] = all;
        }
      }
      conflicts.clear();
    }
    String requestFailure = all instanceof Outcome.Retry r ? r.reason() : null;
    boolean tooLarge = err == null && BulkOutcomes.tooLarge(resp.status());
    boolean credentials = err == null && BulkOutcomes.refusesCredentials(resp.status());
    return new Verdict(out, latestFailed, conflicts, requestFailure, tooLarge, credentials);
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
      CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(cfg.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      // outcomes are the batches' own business; a batch still splitting after the timeout gets retries below
    }
    client.close();
    splitter.shutdown();
  }
}
