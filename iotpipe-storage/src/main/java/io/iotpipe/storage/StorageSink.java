package io.iotpipe.storage;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.sink.Outcome;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.core.sink.SinkRecord;
import io.iotpipe.storage.format.FormatWriter;
import io.iotpipe.storage.format.StoreSchema;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The analytics sink: buffers rows per partition and commits them as files (Hive layout by event hour, every
 * configured format) with the protocol of {@link CommitLog}. A record's outcome completes when its file is
 * committed: only then does the consumer ack it.
 *
 * <p>Memory is bounded by the consumer's prefetch: a partition holds at most {@code prefetch} unacked rows, and a
 * partition's buffer is committed when it reaches half of that (else the broker would stop delivering while the
 * sink waits for more rows: a stall that only the age bound would end).
 */
public final class StorageSink implements Sink {

  private static final Logger LOG = LoggerFactory.getLogger(StorageSink.class);
  private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("HH").withZone(ZoneOffset.UTC);

  /**
   * A partition's buffer is committed at this share of the prefetch: the rest of the prefetch keeps deliveries
   * flowing while the file is written (at 80% the consumer starved during every commit: measured 0.51 of the
   * throughput ceiling).
   */
  public static final double ROLL_SHARE_OF_PREFETCH = 0.5;

  /** Partitions committing at the same time (each commit waits mostly on fsync, not on a core). */
  static final int COMMIT_THREADS = 4;

  private final StorageConfig cfg;
  private final Clock clock;
  private final List<FormatWriter> writers;
  private final long rollRows;
  private final Map<String, Partition> partitions = new ConcurrentHashMap<>();
  private final ScheduledExecutorService roller;
  private final java.util.concurrent.ExecutorService committers;
  private final Housekeeper housekeeper;
  private final Counter files;
  private final Counter rows;
  private final Counter bytes;
  private final Counter skipped;
  private final io.micrometer.core.instrument.Timer commitTime;

  private static final class Pending {
    final SinkRecord record;
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();

    Pending(SinkRecord r) {
      this.record = r;
    }
  }

  /** Rows of one partition waiting for their commit. Guarded by itself. */
  private final class Partition {
    final String source;
    final CommitLog log;
    final Map<String, Pending> buffer = new LinkedHashMap<>();
    /** Held for a whole commit: a partition's files are committed one at a time, in the order they were taken. */
    final Object commitLock = new Object();
    /** A roll task is queued and not yet started: rows added meanwhile go into that roll, no second task needed. */
    final java.util.concurrent.atomic.AtomicBoolean rollQueued = new java.util.concurrent.atomic.AtomicBoolean();
    long bytes;
    long oldest = Long.MAX_VALUE;
    boolean loaded;

    Partition(String source) {
      this.source = source;
      this.log = new CommitLog(cfg.dir(), source);
    }
  }

  public StorageSink(StorageConfig cfg, Clock clock, MeterRegistry registry) {
    this.cfg = cfg;
    this.clock = clock;
    StoreSchema schema = new StoreSchema(cfg.metrics());
    this.writers = cfg.formats().stream().map(f -> FormatWriter.of(f, schema)).toList();
    this.rollRows = Math.max(1, Math.min(cfg.rollRows(), (long) (cfg.consumer().prefetch() * ROLL_SHARE_OF_PREFETCH)));
    this.files = registry.counter("iotpipe.storage.files");
    this.rows = registry.counter("iotpipe.storage.rows");
    this.bytes = registry.counter("iotpipe.storage.bytes");
    this.skipped = registry.counter("iotpipe.storage.duplicates.skipped");
    this.commitTime = io.micrometer.core.instrument.Timer.builder("iotpipe.storage.commit")
        .description("time to write, fsync and commit one roll of a partition").publishPercentiles(0.5, 0.99).register(registry);
    // A timer thread decides when files are due; a few committer threads write them. A commit is mostly waiting
    // for fsync (file, record, directories), so partitions commit side by side: with one committer thread the
    // store drained at 0.4-0.7 of the ceiling while both cores idled half the time (bench store, 4 partitions).
    // A partition's own commits stay serial (its commitLock), so its files and commit log keep their order.
    this.roller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "storage-roll-timer");
      t.setDaemon(true);
      return t;
    });
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    this.committers = Executors.newFixedThreadPool(COMMIT_THREADS, r -> {
      Thread t = new Thread(r, "storage-commit-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    roller.scheduleWithFixedDelay(this::rollAged, 500, 500, TimeUnit.MILLISECONDS);
    roller.execute(this::removeOrphans);
    this.housekeeper = new Housekeeper(cfg, clock, registry).start();
  }

  @Override
  public String name() {
    return "storage";
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    List<CompletableFuture<Outcome>> out = new ArrayList<>(batch.size());
    Map<String, List<SinkRecord>> bySource = new LinkedHashMap<>();
    for (SinkRecord r : batch) {
      bySource.computeIfAbsent(r.source(), k -> new ArrayList<>()).add(r);
    }
    Map<SinkRecord, CompletableFuture<Outcome>> futures = new HashMap<>();
    for (var e : bySource.entrySet()) {
      Partition p = partitions.computeIfAbsent(e.getKey(), Partition::new);
      boolean full;
      synchronized (p) {
        if (!p.loaded) {
          try {
            p.log.refresh();
            p.loaded = true;
          } catch (IOException | RuntimeException ex) {
            String why = "cannot read the commit log of " + p.source + ": " + ex.getMessage();
            e.getValue().forEach(r -> futures.put(r, CompletableFuture.completedFuture(Outcome.retry(why))));
            continue;
          }
        }
        long now = clock.millis();
        for (SinkRecord r : e.getValue()) {
          Telemetry t = r.telemetry();
          if (p.log.isCommitted(t.deviceId(), t.seq())) {
            // A redelivery of a reading already in a committed file (crash between commit and ack): ack, don't write.
            skipped.increment();
            futures.put(r, CompletableFuture.completedFuture(Outcome.DELIVERED));
            continue;
          }
          Pending existing = p.buffer.get(t.id());
          if (existing != null) {
            futures.put(r, existing.outcome);
            continue;
          }
          Pending pe = new Pending(r);
          p.buffer.put(t.id(), pe);
          p.bytes += r.body().length;
          p.oldest = Math.min(p.oldest, now);
          futures.put(r, pe.outcome);
        }
        full = p.buffer.size() >= rollRows || p.bytes >= cfg.rollBytes();
      }
      if (full) {
        queueRoll(p);
      }
    }
    for (SinkRecord r : batch) {
      out.add(futures.get(r));
    }
    return CompletableFuture.allOf(out.toArray(CompletableFuture[]::new))
        .thenApply(v -> out.stream().map(CompletableFuture::join).toList());
  }

  private void rollAged() {
    long now = clock.millis();
    for (Partition p : partitions.values()) {
      boolean due;
      synchronized (p) {
        due = !p.buffer.isEmpty() && now - p.oldest >= cfg.rollAge().toMillis();
      }
      if (due) {
        queueRoll(p);
      }
    }
  }

  private void queueRoll(Partition p) {
    if (p.rollQueued.compareAndSet(false, true)) {
      try {
        committers.execute(() -> roll(p));
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        p.rollQueued.set(false); // closing: flush() commits what is left
      }
    }
  }

  /** Commits everything the partition holds (on a committer thread; one commit per partition at a time). */
  private void roll(Partition p) {
    synchronized (p.commitLock) {
      p.rollQueued.set(false);
      long t0 = System.nanoTime();
      if (commit(p)) {
        commitTime.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
      }
    }
  }

  /** Returns whether there was anything to commit. */
  private boolean commit(Partition p) {
    List<Pending> taken;
    synchronized (p) {
      if (p.buffer.isEmpty()) {
        return false;
      }
      taken = new ArrayList<>(p.buffer.values());
      p.buffer.clear();
      p.bytes = 0;
      p.oldest = Long.MAX_VALUE;
    }
    List<Path> written = new ArrayList<>();
    try {
      while (true) {
        // Someone (a restarted or a parallel instance) may have committed some of these meanwhile.
        p.log.refresh();
        List<Pending> todo = new ArrayList<>(taken.size());
        for (Pending pe : taken) {
          Telemetry t = pe.record.telemetry();
          if (p.log.isCommitted(t.deviceId(), t.seq())) {
            skipped.increment();
            pe.outcome.complete(Outcome.DELIVERED);
          } else {
            todo.add(pe);
          }
        }
        if (todo.isEmpty()) {
          return true;
        }
        long n = p.log.lastCommit() + 1;
        long ingest = clock.millis();
        TreeMap<Instant, List<Telemetry>> byHour = new TreeMap<>();
        Map<String, SeqRanges> delta = new HashMap<>();
        for (Pending pe : todo) {
          Telemetry t = pe.record.telemetry();
          byHour.computeIfAbsent(t.ts().truncatedTo(ChronoUnit.HOURS), k -> new ArrayList<>()).add(t);
          delta.computeIfAbsent(t.deviceId(), k -> new SeqRanges()).add(t.seq());
        }
        List<CommitLog.FileMove> moves = new ArrayList<>();
        long size = 0;
        for (var h : byHour.entrySet()) {
          Path dir = cfg.dir().resolve("date=" + DATE.format(h.getKey())).resolve("hour=" + HOUR.format(h.getKey()));
          Files.createDirectories(dir);
          for (FormatWriter w : writers) {
            String name = String.format("%s-%010d.%s", p.source, n, w.extension());
            Path tmp = dir.resolve("." + name + ".tmp");
            written.add(tmp);
            size += w.write(tmp, h.getValue(), ingest);
            CommitLog.fsync(tmp);
            moves.add(new CommitLog.FileMove(tmp, dir.resolve(name)));
          }
        }
        if (p.log.commit(moves, delta)) {
          files.increment(moves.size());
          rows.increment(todo.size());
          bytes.increment(size);
          todo.forEach(pe -> pe.outcome.complete(Outcome.DELIVERED));
          return true;
        }
        // Commit number taken by another instance: drop our temp files, reload, filter, write again.
        for (Path t : written) {
          Files.deleteIfExists(t);
        }
        written.clear();
      }
    } catch (IOException | RuntimeException e) {
      // Disk full, directory unwritable...: nothing was committed; the rows go back to the queue after a backoff.
      for (Path t : written) {
        try {
          Files.deleteIfExists(t);
        } catch (IOException ignored) {
          // best effort; orphans are removed at the next start
        }
      }
      String why = "storage commit failed (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
      LOG.warn("{} for {} rows of {}: they will be retried", why, taken.size(), p.source);
      taken.forEach(pe -> pe.outcome.complete(Outcome.retry(why)));
    }
    return true;
  }

  /** Temp files older than 10 minutes belong to no running commit: a crash left them. */
  private void removeOrphans() {
    if (!Files.isDirectory(cfg.dir())) {
      return;
    }
    long cutoff = clock.millis() - TimeUnit.MINUTES.toMillis(10);
    try (var walk = Files.walk(cfg.dir(), 3)) {
      walk.filter(f -> {
        String n = f.getFileName().toString();
        return n.startsWith(".") && n.endsWith(".tmp");
      }).forEach(f -> {
        try {
          if (Files.getLastModifiedTime(f).toMillis() < cutoff) {
            Files.deleteIfExists(f);
          }
        } catch (IOException ignored) {
          // another instance removed it
        }
      });
    } catch (IOException | java.io.UncheckedIOException e) {
      LOG.debug("orphan sweep skipped: {}", e.getMessage());
    }
  }

  @Override
  public void flush() {
    if (roller.isShutdown()) {
      return; // closed: everything was flushed then
    }
    // Each partition's roll waits for its commit in progress, then takes everything written before this call.
    CompletableFuture.allOf(partitions.values().stream()
        .map(p -> CompletableFuture.runAsync(() -> roll(p), committers)).toArray(CompletableFuture[]::new)).join();
  }

  @Override
  public void close() {
    if (roller.isShutdown()) {
      return;
    }
    housekeeper.close();
    try {
      flush();
    } finally {
      roller.shutdown();
      committers.shutdown();
      try {
        roller.awaitTermination(30, TimeUnit.SECONDS);
        committers.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Data files of the store (for tests and tools); hidden and underscore entries are not data. */
  public static List<Path> dataFiles(Path store, String extension) throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(store)) {
      return out;
    }
    try (var walk = Files.walk(store)) {
      walk.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().endsWith("." + extension))
          .filter(f -> !f.getFileName().toString().startsWith(".")).filter(f -> !store.relativize(f).startsWith("_state"))
          .forEach(out::add);
    }
    return out;
  }

}
