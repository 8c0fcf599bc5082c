package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Replays readings (from the store, by {@code iotpipe reindex}) into the search engine through the indexer's own sink:
 * the same documents, index names and ids ({@code deviceId:seq}, written with {@code create}), the same conflict
 * check, 413 splitting and pipelining. A reading already indexed with the same content counts as present, a different
 * one is reported and the indexed one kept (as the indexer does), so a rebuild next to a live indexer, or run twice,
 * doubles nothing.
 *
 * <p>Work comes in parts (an hour of the store); a part is recorded in the checkpoint file only once every one of its
 * readings is settled, so a rebuild killed at any point and started again with the same checkpoint skips the parts
 * done and redoes at most the part it was in, which {@code create} makes harmless. Memory is bounded by
 * {@code indexer.maxInFlight} + 1 batches of {@code indexer.consumer.batchMax} readings.
 */
public final class Reindexer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SUFFIX = Pattern.compile("[a-z0-9][a-z0-9._-]{0,49}");
  private static final int REASONS_KEPT = 10;

  /**
   * How a rebuild runs.
   *
   * @param indexSuffix appended to every index name (a rebuild beside the live indices), or null for the live ones
   * @param maxRate     most readings per second sent (0: unlimited)
   * @param retryFor    how long a batch the engine keeps refusing (unreachable, 429, 5xx) is retried before the rebuild stops
   * @param checkpoint  the file recording the parts done, or null (a re-run then redoes every part, doubling nothing)
   */
  public record Options(String indexSuffix, int maxRate, Duration retryFor, Path checkpoint) {}

  /** Counts after each batch, for a progress line. */
  public record Progress(String part, long read, long written, long present, long different, long rejected) {}

  /**
   * What a rebuild did.
   *
   * @param indices    the event indices written, as a pattern
   * @param parts      parts replayed in this run
   * @param skipped    parts the checkpoint recorded as done
   * @param read       readings read
   * @param written    documents created
   * @param present    readings already indexed with the same content
   * @param different  readings indexed under the same id with different content (the indexed one kept)
   * @param rejected   readings the engine refused otherwise (a mapping conflict, a value JSON cannot hold)
   * @param reasons    up to ten reasons for the last two counts
   */
  public record Summary(String indices, int parts, int skipped, long read, long written, long present, long different,
                        long rejected, List<String> reasons, double seconds) {}

  /** The engine kept refusing a batch for {@code retryFor}: the rebuild stops, its checkpoint intact. */
  public static final class Stopped extends RuntimeException {
    Stopped(String message) {
      super(message);
    }
  }

  private final IndexerConfig cfg;
  private final Options opts;
  private final String suffix;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final ElasticsearchSink sink;
  private final Set<String> done = new LinkedHashSet<>();
  private final Consumer<Progress> progress;
  private final long startNanos = System.nanoTime();
  private final List<String> reasons = new ArrayList<>();
  private int parts;
  private int skipped;
  private long read;
  private long delivered;
  private long rejected;
  /**
   * Delivered and refused outcomes of every write answered so far, settled or not: the sink counts a conflict when it
   * answers a write, and a progress line takes both sides from there (settled counts lag by the batches in flight, so
   * "written" = delivered - present went below zero). The summary, after everything is settled, uses either.
   */
  private final java.util.concurrent.atomic.AtomicLong answeredDelivered = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong answeredRejected = new java.util.concurrent.atomic.AtomicLong();
  private long sent;

  public Reindexer(IndexerConfig cfg, Options opts, Consumer<Progress> progress) {
    this.suffix = opts.indexSuffix() == null ? "" : "-" + opts.indexSuffix();
    if (opts.indexSuffix() != null && !SUFFIX.matcher(opts.indexSuffix()).matches()) {
      throw new IllegalArgumentException("--index-suffix " + opts.indexSuffix() + ": use 1 to 50 of a-z, 0-9, '.', '_', '-'"
          + " (index names are lower case), starting with a letter or digit");
    }
    if (opts.indexSuffix() != null && cfg.period() == IndexerConfig.IndexPeriod.NONE) {
      throw new IllegalArgumentException("--index-suffix needs dated indices (indexer.period daily or monthly): the index template"
          + " matches " + cfg.indexPrefix() + " only; rebuild with another indexer.indexPrefix in a copy of the config instead");
    }
    this.cfg = suffix.isEmpty() || cfg.latestIndex() == null ? cfg : withLatestIndex(cfg, cfg.latestIndex() + suffix);
    this.opts = opts;
    this.progress = progress;
    this.sink = new ElasticsearchSink(this.cfg, meters, suffix);
    readCheckpoint();
  }

  private static IndexerConfig withLatestIndex(IndexerConfig c, String latest) {
    return new IndexerConfig(c.urls(), c.username(), c.password(), c.apiKey(), c.caFile(), c.indexPrefix(), c.period(), c.shards(),
        c.replicas(), latest, c.maxInFlight(), c.maxInFlightBytes(), c.requestTimeout(), c.consumer());
  }

  /** The event indices written: {@code telemetry-*} or, with a suffix, {@code telemetry-*-rebuild}. */
  public String indices() {
    return cfg.period() == IndexerConfig.IndexPeriod.NONE ? cfg.indexPrefix() : cfg.indexPrefix() + "-*" + suffix;
  }

  /** What the checkpoint is bound to: a checkpoint of one target must not skip parts of another. */
  private String target() {
    return indices() + (cfg.latestIndex() == null ? "" : "," + cfg.latestIndex());
  }

  /**
   * Templates and the latest-state index, as the indexer applies them, waiting up to {@code timeout} for an engine that
   * is starting. Throws {@link EsClient.EsUnavailableException} (unreachable) or IllegalStateException (credentials,
   * TLS, a refused template) with a message naming the setting to fix.
   */
  public IndexSetup.Engine prepare(Duration timeout) {
    return sink.prepare(timeout);
  }

  /** Whether the checkpoint records part {@code key} as done (it is then skipped and counted as such). */
  public boolean skip(String key) {
    if (done.contains(key)) {
      skipped++;
      return true;
    }
    return false;
  }

  /**
   * Replays one part's readings and records it in the checkpoint once all are settled. Throws {@link Stopped} when
   * the engine keeps refusing for {@code retryFor}.
   */
  public void replay(String key, Iterator<Telemetry> readings) {
    ArrayDeque<Pending> inFlight = new ArrayDeque<>();
    int batchMax = cfg.consumer().batchMax();
    while (readings.hasNext()) {
      List<SinkRecord> batch = new ArrayList<>(batchMax);
      while (batch.size() < batchMax && readings.hasNext()) {
        batch.add(new SinkRecord(readings.next(), new byte[0], "store", 0));
      }
      read += batch.size();
      pace(batch.size());
      inFlight.add(new Pending(batch, write(batch)));
      // The sink pipelines up to maxInFlight bulks itself; beyond that the oldest is settled first (the memory bound).
      while (inFlight.size() > cfg.maxInFlight()) {
        settle(key, inFlight.poll());
      }
    }
    while (!inFlight.isEmpty()) {
      settle(key, inFlight.poll());
    }
    parts++;
    done.add(key);
    writeCheckpoint();
    report(key);
  }

  private CompletableFuture<List<Outcome>> write(List<SinkRecord> batch) {
    return sink.write(batch).toCompletableFuture().thenApply(out -> {
      answeredDelivered.addAndGet(out.stream().filter(o -> o instanceof Outcome.Delivered).count());
      answeredRejected.addAndGet(out.stream().filter(o -> o instanceof Outcome.Reject).count());
      return out;
    });
  }

  private record Pending(List<SinkRecord> batch, CompletableFuture<List<Outcome>> outcomes) {}

  /** Waits for a batch; what is to be retried is sent again with backoff until it lands or {@code retryFor} passes. */
  private void settle(String key, Pending p) {
    List<SinkRecord> batch = p.batch();
    List<Outcome> out = p.outcomes().join();
    long firstFailure = 0;
    for (int attempt = 1; ; attempt++) {
      List<SinkRecord> again = new ArrayList<>();
      String lastRetry = null;
      for (int i = 0; i < batch.size(); i++) {
        Outcome o = out.get(i);
        if (o instanceof Outcome.Delivered) {
          delivered++;
        } else if (o instanceof Outcome.Reject r) {
          rejected++;
          if (reasons.size() < REASONS_KEPT) {
            reasons.add(r.reason());
          }
        } else if (o instanceof Outcome.Retry r) {
          again.add(batch.get(i));
          lastRetry = r.reason();
        }
      }
      if (again.isEmpty()) {
        report(key);
        return;
      }
      long now = System.nanoTime();
      if (firstFailure == 0) {
        firstFailure = now;
      } else if (now - firstFailure > opts.retryFor().toNanos()) {
        throw new Stopped("the search engine kept refusing " + again.size() + " readings of hour " + key + " for "
            + opts.retryFor().toSeconds() + " s: " + lastRetry);
      }
      try {
        TimeUnit.MILLISECONDS.sleep(cfg.consumer().backoff().delay(attempt).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Stopped("interrupted while retrying hour " + key);
      }
      batch = again;
      out = write(batch).join();
    }
  }

  /**
   * Holds the sender so that at most {@code maxRate} readings a second go out (protects an engine serving searches).
   * Hand-written: a schedule of one sleep per batch, where a rate-limiter library (none on the product's class path)
   * would add a dependency for four lines.
   */
  private void pace(int n) {
    sent += n;
    if (opts.maxRate() <= 0) {
      return;
    }
    long due = startNanos + (long) (sent * 1e9 / opts.maxRate());
    long wait = due - System.nanoTime();
    if (wait > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Stopped("interrupted");
      }
    }
  }

  private long count(String result) {
    var c = meters.find("iotpipe.es.conflicts").tag("result", result).counter();
    return c == null ? 0 : (long) c.count();
  }

  private void report(String key) {
    if (progress != null) {
      long present = count("same-content");
      long different = count("different-content");
      progress.accept(progressOf(key, read, answeredDelivered.get(), answeredRejected.get(), present, different));
    }
  }

  /**
   * A progress line's counts from the answered writes and the sink's conflict counters. A write the sink has counted
   * but whose answer is not yet added (the instant between the two) would show as a negative count: none is shown.
   */
  static Progress progressOf(String part, long read, long answeredDelivered, long answeredRejected, long present, long different) {
    long p = Math.min(present, answeredDelivered);
    long d = Math.min(different, answeredRejected);
    return new Progress(part, read, answeredDelivered - p, p, d, answeredRejected - d);
  }

  public Summary summary() {
    long present = count("same-content");
    long different = count("different-content");
    return new Summary(indices(), parts, skipped, read, delivered - present, present, different, rejected - different,
        List.copyOf(reasons), Math.round((System.nanoTime() - startNanos) / 1e7) / 100.0);
  }

  private void readCheckpoint() {
    Path f = opts.checkpoint();
    if (f == null || !Files.exists(f)) {
      return;
    }
    try {
      JsonNode n = JSON.readTree(f.toFile());
      String was = n.path("target").asText();
      if (!was.equals(target())) {
        throw new IllegalArgumentException("checkpoint " + f + " belongs to a rebuild of " + was + ", not of " + target()
            + ": pass another --checkpoint file (or delete this one to start over)");
      }
      n.path("done").forEach(d -> done.add(d.asText()));
    } catch (IOException e) {
      throw new IllegalArgumentException("checkpoint " + f + " is not readable JSON (" + e.getMessage()
          + "): delete it to start over; a full re-run doubles nothing", e);
    }
  }

  /** Written beside and moved over the old file: a crash leaves the previous checkpoint or the new one, never half. */
  private void writeCheckpoint() {
    Path f = opts.checkpoint();
    if (f == null) {
      return;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("target", target());
    done.forEach(n.putArray("done")::add);
    try {
      Path abs = f.toAbsolutePath();
      Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
      Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException(new IOException("cannot write the checkpoint " + f + ": " + e.getMessage(), e));
    }
  }

  @Override
  public void close() {
    sink.close();
  }
}
