package io.iotpipe.storage;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.StandaloneSinkContext;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.CommitSteps.Step;
import io.iotpipe.storage.format.FormatWriter;
import io.iotpipe.storage.format.StoreSchema;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The analytics sink: gathers rows per partition queue in an open file and commits them as files (Hive layout by
 * event hour, every configured format) with the protocol of {@link CommitLog}. A record's outcome completes when its
 * file is committed and in place: only then does the consumer ack it.
 *
 * <p>{@code (deviceId, seq)} is unique in the whole store directory, whichever partition queue, instance or region
 * a reading comes through: a reading already stored is {@code Delivered} without being written again if its content
 * is the same, and {@code Reject}ed (dead-lettered) if it differs; the store keeps the first.
 *
 * <p>Memory: an open file is committed at half the consumer's prefetch (else the broker would stop delivering while
 * the sink waits for more rows), at {@code rollBytes}, or at a fifth of the sink's byte budget (an eighth of the heap)
 * for the rows held by all partitions; when the budget is reached, {@link #write} waits for commits to release rows
 * before it takes more (the broker's prefetch counts messages, not bytes), so large readings cannot fill the heap.
 *
 * <p>Lifecycle: {@link #open} catches up with the commit log and finishes interrupted commits (anyone's);
 * {@link #close(String)} completes the partition's open file as {@code Retry} and drops it; {@link #health} is DOWN
 * on a commit alarm (a committed file vanished) and DEGRADED while a committed file waits for its rename.
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

  /**
   * The first file of a partition after this instance took it (start, restart after a crash, handover) is committed
   * once its oldest row waited this long, not {@code rollAge}: its rows are mostly the previous owner's unacked
   * readings, redelivered at once and already late, and until that file commits the partition has acked nothing
   * (measured in {@code chaos --short}: restart to first ack 4.6 s with rollAge 3 s; the default rollAge of 60 s would
   * make it a minute). One small extra file per partition and start.
   */
  static final long FIRST_FILE_AGE_MS = 1000;

  /**
   * Files of one partition in commit at the same time. A commit is four fsyncs (data file, record, log and data
   * directories: ~80 ms here), and a partition holds at most a prefetch of unacked rows, so with one commit at a time
   * a partition drains at most {@code rollRows / commit time}: 512 rows / 80 ms = 6.4k rows/s at the prefetch a 256 MiB
   * heap allows (measured: 22k msg/s for 4 partitions, the consumer waiting for deliveries). With two, the next file
   * commits while the previous one still waits for its fsyncs. The commit log keeps keys unique across concurrent
   * commits (it already has to, across partitions and instances), and acks are per delivery, so order does not matter.
   */
  static final int COMMITS_PER_PARTITION = 2;

  /**
   * Worker threads this sink asks of the runtime (each commit waits mostly on fsync, not on a core): two commits for
   * each of four partitions. With one thread the store drained at 0.4-0.7 of the ceiling while both cores idled.
   */
  public static final int COMMIT_THREADS = 8;

  /** The runtime's commit clock for the store: each tick commits the partitions whose oldest row reached its age. */
  public static final java.time.Duration COMMIT_TICK = java.time.Duration.ofMillis(500);

  private final StorageConfig cfg;
  private final Clock clock;
  private final List<FormatWriter> writers;
  private final long rollRows;
  /** Rows (estimated bytes) the sink may hold in open files and commits in progress, all partitions together. */
  private final MemoryBudget budget;
  /** An open file is committed at this size (estimated): a few of them in commit at once stay within the budget. */
  private final long fileBytes;
  private final Map<String, Partition> partitions = new ConcurrentHashMap<>();
  /** The runtime's threads for commits (see {@link SinkContext#workers()}). */
  private final java.util.concurrent.Executor committers;
  /** The context this sink created for itself when run without the runtime (tests, tools); null under the runtime. */
  private final StandaloneSinkContext owned;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  private final CommitLog log;
  private final Object loadLock = new Object();
  private volatile boolean loaded;
  private volatile String loadError;
  private final Counter files;
  private final Counter rows;
  private final Counter bytes;
  private final Counter skipped;
  private final Counter unverified;
  private final Counter conflicts;
  private final Counter alarmCount;
  private final Timer commitTime;
  private final Timer commitPointTime;

  private static final class Pending {
    final Telemetry telemetry;
    final long fingerprint;
    final long size;
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();

    Pending(Telemetry t, long fingerprint, long size) {
      this.telemetry = t;
      this.fingerprint = fingerprint;
      this.size = size;
    }
  }

  /** The open file of one partition queue: rows waiting for their commit. Guarded by itself. */
  private final class Partition {
    final String source;
    final Map<String, Pending> buffer = new LinkedHashMap<>();
    /** A permit per commit in progress; all of them to wait until none is (flush, close). */
    final java.util.concurrent.Semaphore commits = new java.util.concurrent.Semaphore(COMMITS_PER_PARTITION, true);
    /** A roll task is queued and not yet started: rows added meanwhile go into that roll, no second task needed. */
    final AtomicBoolean rollQueued = new AtomicBoolean();
    long bytes;
    long oldest = Long.MAX_VALUE;
    boolean closed;
    /** No file committed since this instance took the partition: see {@link #FIRST_FILE_AGE_MS}. */
    boolean fresh = true;

    Partition(String source) {
      this.source = source;
    }
  }

  /** The sink as the runtime runs it: its threads and commit clock are the runtime's. */
  public StorageSink(StorageConfig cfg, SinkContext ctx) {
    this(cfg, ctx, null, CommitSteps.NONE, defaultBudget());
  }

  /** The sink run without the runtime (tests, offline tools): it brings a standalone context and closes it. */
  public StorageSink(StorageConfig cfg, Clock clock, MeterRegistry registry) {
    this(cfg, clock, registry, CommitSteps.NONE, defaultBudget());
  }

  /** A sink whose commit steps pass through {@code steps} first: fault-injection tests against real queues. */
  public static StorageSink withFaults(StorageConfig cfg, Clock clock, MeterRegistry registry, CommitSteps steps) {
    return new StorageSink(cfg, clock, registry, steps, defaultBudget());
  }

  StorageSink(StorageConfig cfg, Clock clock, MeterRegistry registry, CommitSteps steps, long budgetBytes) {
    this(cfg, clock, registry, steps, budgetBytes, COMMIT_TICK);
  }

  /** For tests that play the runtime's commit clock themselves ({@code tick} zero: only their own commit() calls). */
  StorageSink(StorageConfig cfg, Clock clock, MeterRegistry registry, CommitSteps steps, long budgetBytes, java.time.Duration tick) {
    this(cfg, null, new StandaloneSinkContext("standalone", registry, clock, cfg.consumer(), COMMIT_THREADS, tick), steps, budgetBytes);
  }

  private static long defaultBudget() {
    return Math.max(8L << 20, Runtime.getRuntime().maxMemory() / 8);
  }

  private StorageSink(StorageConfig cfg, SinkContext runtime, StandaloneSinkContext owned, CommitSteps steps,
                      long budgetBytes) {
    SinkContext ctx = owned != null ? owned : runtime;
    MeterRegistry registry = ctx.registry();
    this.owned = owned;
    this.cfg = cfg;
    this.clock = ctx.clock();
    StoreSchema schema = new StoreSchema(cfg.metrics());
    this.writers = cfg.formats().stream().map(f -> FormatWriter.of(f, schema)).toList();
    this.rollRows = Math.max(1, Math.min(cfg.rollRows(), (long) (cfg.consumer().prefetch() * ROLL_SHARE_OF_PREFETCH)));
    this.budget = new MemoryBudget(budgetBytes, registry);
    this.fileBytes = Math.max(1, Math.min(cfg.rollBytes(), budgetBytes / (COMMIT_THREADS + 1)));
    this.files = registry.counter("iotpipe.storage.files");
    this.rows = registry.counter("iotpipe.storage.rows");
    this.bytes = registry.counter("iotpipe.storage.bytes");
    this.skipped = registry.counter("iotpipe.storage.duplicates.skipped");
    this.unverified = Counter.builder("iotpipe.storage.duplicates.unverified")
        .description("redeliveries of stored readings acked without a content comparison (fingerprint no longer in memory, no Parquet row to compare with)")
        .register(registry);
    this.conflicts = Counter.builder("iotpipe.storage.duplicates.conflicting")
        .description("readings rejected because their (deviceId, seq) is stored with different content").register(registry);
    this.alarmCount = Counter.builder("iotpipe.storage.commit_alarms")
        .description("committed files found missing (neither final nor temp name): their readings are not acked").register(registry);
    this.commitTime = Timer.builder("iotpipe.storage.commit")
        .description("time to write, fsync and commit one roll of a partition").publishPercentiles(0.5, 0.99).register(registry);
    this.commitPointTime = Timer.builder("iotpipe.storage.commit.point")
        .description("time from asking for the store-wide commit lock to a durable commit record (catching up with "
            + "other writers, the uniqueness check, link, log directory fsync)").publishPercentiles(0.5, 0.99).register(registry);
    this.log = new CommitLog(cfg.dir(), steps, c -> {
      alarmCount.increment();
      LOG.error("storage commit alarm: {}", c.alarm);
    });
    // The runtime's commit clock decides when files are due (commit()); its worker threads write them, side by side,
    // at most COMMITS_PER_PARTITION per partition.
    this.committers = ctx.workers();
    committers.execute(this::ensureLoaded); // finish what a crash left behind without waiting for traffic
    if (owned != null) {
      owned.drive(this); // last: the clock may tick from now on
    }
  }

  @Override
  public String name() {
    return "storage";
  }

  /** A partition's records complete with its file: a batch of one partition never waits for another's commit. */
  @Override
  public boolean batchesPerPartition() {
    return true;
  }

  /** Loads the commit log once (rolling forward interrupted commits, sweeping orphans); false if it cannot. */
  private boolean ensureLoaded() {
    if (loaded) {
      return true;
    }
    synchronized (loadLock) {
      if (!loaded) {
        try {
          long t0 = System.nanoTime();
          log.open(true);
          loaded = true;
          loadError = null;
          LOG.info("commit log under {} loaded in {} ms", CommitLog.logDir(cfg.dir()), (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
          loadError = "cannot read the commit log under " + CommitLog.logDir(cfg.dir()) + ": " + CommitLog.describe(e);
          LOG.warn("{}; retried with the next write", loadError);
        }
      }
      return loaded;
    }
  }

  @Override
  public void open(String partition) {
    if (ensureLoaded()) {
      try {
        // Commits made meanwhile by others (a previous owner of this queue, other queues, other regions).
        log.open(false);
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot catch up with the commit log on opening {}: {}", partition, CommitLog.describe(e));
      }
    }
    partitions.computeIfAbsent(partition, Partition::new);
  }

  @Override
  public void close(String partition) {
    Partition p = partitions.remove(partition);
    if (p == null) {
      return;
    }
    // A commit in progress ends first (delivered or retry); the open file is dropped: its messages are back on the
    // broker and may go to another instance, so nothing of it may become durable here after this returns.
    p.commits.acquireUninterruptibly(COMMITS_PER_PARTITION);
    try {
      synchronized (p) {
        p.closed = true;
        Outcome retry = Outcome.retry("partition " + partition + " closed before its file was committed");
        p.buffer.values().forEach(pe -> pe.outcome.complete(retry));
        budget.release(p.bytes);
        p.buffer.clear();
        p.bytes = 0;
      }
    } finally {
      p.commits.release(COMMITS_PER_PARTITION);
    }
  }

  @Override
  public SinkHealth health() {
    List<CommitLog.Claim> alarms = log.alarms();
    if (!alarms.isEmpty()) {
      return SinkHealth.down(alarms.get(0).alarm + (alarms.size() > 1 ? " (and " + (alarms.size() - 1) + " more commit alarms)" : ""));
    }
    List<CommitLog.Claim> open = log.unfinished();
    if (!open.isEmpty()) {
      return SinkHealth.degraded(open.size() + " committed file set(s) not yet in place, retrying: " + open.get(0).error);
    }
    String le = loadError;
    return le != null ? SinkHealth.degraded(le) : SinkHealth.UP;
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    List<CompletableFuture<Outcome>> out = new ArrayList<>(batch.size());
    if (!ensureLoaded()) {
      Outcome retry = Outcome.retry(loadError);
      batch.forEach(r -> out.add(CompletableFuture.completedFuture(retry)));
      return done(out);
    }
    if (log.hasUnfinished()) {
      try {
        log.retryUnfinished(); // so that redeliveries of a commit finished now are acked below
      } catch (IOException e) {
        LOG.debug("finishing interrupted commits failed again: {}", e.getMessage());
      }
    }
    awaitRoom();
    List<Partition> full = new ArrayList<>();
    List<Pending> unverifiedRows = new ArrayList<>();
    // A run of one partition's records goes into one file: a roll cannot take the buffer between two of them (the
    // partition's monitor is held for the run), so a batch never waits for the file after the one it is in.
    for (int from = 0; from < batch.size(); ) {
      String source = batch.get(from).source();
      int to = from + 1;
      while (to < batch.size() && batch.get(to).source().equals(source)) {
        to++;
      }
      Partition p = partitions.computeIfAbsent(source, Partition::new);
      synchronized (p) {
        for (SinkRecord r : batch.subList(from, to)) {
          out.add(accept(p, r, full, unverifiedRows));
        }
      }
      from = to;
    }
    verifyStored(unverifiedRows);
    full.stream().distinct().forEach(this::queueRoll);
    if (budget.spent()) {
      partitions.values().forEach(this::queueRoll);
    }
    return done(out);
  }

  private static CompletionStage<List<Outcome>> done(List<CompletableFuture<Outcome>> out) {
    return CompletableFuture.allOf(out.toArray(CompletableFuture[]::new))
        .thenApply(v -> out.stream().map(CompletableFuture::join).toList());
  }

  private CompletableFuture<Outcome> accept(Partition p, SinkRecord r, List<Partition> full, List<Pending> unverifiedRows) {
    Telemetry t = r.telemetry();
    long fp = Fingerprint.of(t);
    CommitLog.Verdict v = log.lookup(t.deviceId(), t.seq(), fp);
    if (v.known() == CommitLog.Known.UNVERIFIED) {
      Pending pe = new Pending(t, fp, 0);
      unverifiedRows.add(pe);
      return pe.outcome;
    }
    Outcome known = known(v);
    if (known != null) {
      return CompletableFuture.completedFuture(known);
    }
    synchronized (p) {
      if (p.closed) {
        return CompletableFuture.completedFuture(Outcome.retry("partition " + p.source + " is closed"));
      }
      Pending existing = p.buffer.get(t.id());
      if (existing != null) {
        if (existing.fingerprint == fp) {
          return existing.outcome;
        }
        conflicts.increment();
        return CompletableFuture.completedFuture(Outcome.reject("(deviceId, seq) (" + t.deviceId() + ", " + t.seq()
            + ") already received with different content; the store keeps the first reading"));
      }
      // The parsed reading is what the sink holds (not the body): about twice the body's bytes.
      Pending pe = new Pending(t, fp, 2L * r.body().length + 256);
      p.buffer.put(t.id(), pe);
      p.bytes += pe.size;
      budget.hold(pe.size);
      p.oldest = Math.min(p.oldest, clock.millis());
      if (p.buffer.size() >= rollRows || p.bytes >= fileBytes) {
        full.add(p);
      }
      return pe.outcome;
    }
  }

  /** The outcome for a key the store already knows, or null for a new one. */
  private Outcome known(CommitLog.Verdict v) {
    return switch (v.known()) {
      case NEW -> null;
      case SAME -> {
        // A redelivery of a reading already in a committed file (crash or lost ack between commit and ack).
        skipped.increment();
        yield Outcome.DELIVERED;
      }
      case UNVERIFIED -> throw new IllegalStateException("compared with the stored row by verifyStored");
      case DIFFERENT -> {
        conflicts.increment();
        yield Outcome.reject(v.reason());
      }
      case UNFINISHED, ALARM -> Outcome.retry(v.reason());
    };
  }

  /**
   * Backpressure by bytes: while the rows held reach the budget, the caller (the consumer thread) asks every
   * partition to commit and waits for commits to release some.
   */
  private void awaitRoom() {
    budget.awaitRoom(() -> partitions.values().forEach(this::queueRoll), closed::get);
  }

  /** Highest estimated bytes of rows held at once (for tests). */
  long heldPeak() {
    return budget.peak();
  }

  /** A tick of the runtime's commit clock: rolls the partitions whose oldest row reached its age. */
  @Override
  public void commit() {
    if (closed.get()) {
      return;
    }
    long now = clock.millis();
    for (Partition p : partitions.values()) {
      boolean due;
      synchronized (p) {
        long age = p.fresh ? Math.min(FIRST_FILE_AGE_MS, cfg.rollAge().toMillis()) : cfg.rollAge().toMillis();
        due = !p.buffer.isEmpty() && now - p.oldest >= age;
      }
      if (due) {
        queueRoll(p);
      }
    }
    try {
      log.retryUnfinished();
    } catch (IOException | RuntimeException e) {
      LOG.debug("finishing interrupted commits failed again: {}", e.getMessage());
    }
  }

  private void queueRoll(Partition p) {
    if (p.rollQueued.compareAndSet(false, true)) {
      try {
        committers.execute(() -> roll(p));
      } catch (RejectedExecutionException closed) {
        p.rollQueued.set(false); // closing: flush() commits what is left
      }
    }
  }

  /** Commits everything the partition holds (on a committer thread; up to {@link #COMMITS_PER_PARTITION} at a time). */
  private void roll(Partition p) {
    p.commits.acquireUninterruptibly();
    try {
      p.rollQueued.set(false);
      long t0 = System.nanoTime();
      if (commit(p)) {
        commitTime.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
      }
    } finally {
      p.commits.release();
    }
  }

  /** Waits until no commit of the partition is in progress. */
  private static void awaitCommits(Partition p) {
    p.commits.acquireUninterruptibly(COMMITS_PER_PARTITION);
    p.commits.release(COMMITS_PER_PARTITION);
  }

  /** Returns whether there was anything to commit. */
  private boolean commit(Partition p) {
    List<Pending> taken;
    long takenBytes;
    synchronized (p) {
      if (p.buffer.isEmpty()) {
        return false;
      }
      taken = new ArrayList<>(p.buffer.values());
      takenBytes = p.bytes;
      p.buffer.clear();
      p.bytes = 0;
      p.oldest = Long.MAX_VALUE;
      p.fresh = false;
    }
    try {
      List<Pending> todo = taken;
      while (true) {
        // Someone (another queue, instance or region) may have committed some of these meanwhile.
        todo = stillNew(todo);
        if (todo.isEmpty()) {
          return true;
        }
        CommitLog.Prepared prep = new CommitLog.Prepared(p.source);
        List<Path> temps = new ArrayList<>();
        CommitLog.Claim claim;
        long size;
        try {
          size = writeFiles(p, todo, prep, temps);
          log.writeRecord(prep);
          long c0 = System.nanoTime();
          claim = log.commit(prep);
          commitPointTime.record(System.nanoTime() - c0, TimeUnit.NANOSECONDS);
        } catch (IOException | RuntimeException e) {
          // Before the commit point: nothing was committed, the temp files are ours to delete.
          deleteQuietly(temps, prep.recordTmp);
          throw e;
        }
        if (claim == null) {
          // Some keys were committed by someone else while we wrote: filter them out and write again (rare).
          deleteQuietly(temps, prep.recordTmp);
          continue;
        }
        // Committed. From here on nothing is deleted or undone: the rows become readable now or later.
        if (log.finish(claim)) {
          files.increment(claim.files.size());
          rows.increment(todo.size());
          bytes.increment(size);
          todo.forEach(pe -> pe.outcome.complete(Outcome.DELIVERED));
        } else {
          String why = claim.alarm != null ? claim.alarm
              : "committed in " + claim.record + " but not yet readable (" + claim.error + "); finishing it is retried";
          LOG.warn("{} rows of {}: {}", todo.size(), p.source, why);
          Outcome retry = Outcome.retry(why);
          todo.forEach(pe -> pe.outcome.complete(retry));
        }
        try {
          log.maybeCheckpoint();
        } catch (IOException | RuntimeException e) {
          LOG.warn("commit log checkpoint failed, tried again later: {}", CommitLog.describe(e));
        }
        return true;
      }
    } catch (IOException | RuntimeException e) {
      // Disk full, directory unwritable...: nothing was committed; the rows go back to the queue after a backoff.
      String why = "storage commit failed (" + CommitLog.describe(e) + ")";
      LOG.warn("{} for {} rows of {}: they will be retried", why, taken.size(), p.source);
      Outcome retry = Outcome.retry(why);
      taken.forEach(pe -> pe.outcome.complete(retry));
      return true;
    } finally {
      budget.release(takenBytes);
    }
  }

  /** Completes the rows whose key is now known to the store; returns the others. */
  private List<Pending> stillNew(List<Pending> rows) {
    List<Pending> out = new ArrayList<>(rows.size());
    List<Pending> unverifiedRows = new ArrayList<>();
    for (Pending pe : rows) {
      CommitLog.Verdict v = log.lookup(pe.telemetry.deviceId(), pe.telemetry.seq(), pe.fingerprint);
      if (v.known() == CommitLog.Known.UNVERIFIED) {
        unverifiedRows.add(pe);
        continue;
      }
      Outcome known = known(v);
      if (known == null) {
        out.add(pe);
      } else {
        pe.outcome.complete(known);
      }
    }
    verifyStored(unverifiedRows);
    return out;
  }

  /**
   * Stored keys whose fingerprint left the commit log's memory window (old redeliveries, rare): compared with the
   * stored row itself. When no Parquet file can tell (no Parquet format configured, the hour dropped by retention),
   * the reading is acked as already there and counted as unverified.
   */
  private void verifyStored(List<Pending> rows) {
    if (rows.isEmpty()) {
      return;
    }
    List<StoredContent.Match> match = cfg.formats().contains(StorageConfig.Format.PARQUET)
        ? StoredContent.compare(cfg.dir(), cfg.metrics(), rows.stream().map(pe -> pe.telemetry).toList()) : null;
    for (int i = 0; i < rows.size(); i++) {
      Pending pe = rows.get(i);
      Telemetry t = pe.telemetry;
      switch (match == null ? StoredContent.Match.UNKNOWN : match.get(i)) {
        case SAME -> {
          skipped.increment();
          pe.outcome.complete(Outcome.DELIVERED);
        }
        case DIFFERENT -> {
          conflicts.increment();
          pe.outcome.complete(Outcome.reject(CommitLog.conflict(t.deviceId(), t.seq())));
        }
        case UNKNOWN -> {
          skipped.increment();
          unverified.increment();
          pe.outcome.complete(Outcome.DELIVERED);
        }
      }
    }
  }

  /** Writes and fsyncs one temp file per event hour and format; returns their total size. */
  private long writeFiles(Partition p, List<Pending> todo, CommitLog.Prepared prep, List<Path> temps) throws IOException {
    long ingest = clock.millis();
    TreeMap<Instant, List<Telemetry>> byHour = new TreeMap<>();
    for (Pending pe : todo) {
      Telemetry t = pe.telemetry;
      byHour.computeIfAbsent(t.ts().truncatedTo(ChronoUnit.HOURS), k -> new ArrayList<>()).add(t);
      prep.add(t.deviceId(), t.seq(), pe.fingerprint);
    }
    // Unique without coordination (the commit number is only known under the lock): ingest time, 64 random bits.
    String id = ingest + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    long size = 0;
    for (var h : byHour.entrySet()) {
      Path dir = cfg.dir().resolve("date=" + DATE.format(h.getKey())).resolve("hour=" + HOUR.format(h.getKey()));
      Files.createDirectories(dir);
      for (FormatWriter w : writers) {
        String name = p.source + "-" + id + "." + w.extension();
        Path tmp = dir.resolve("." + name + ".tmp");
        temps.add(tmp);
        log.steps().before(Step.WRITE_TEMP, tmp);
        size += w.write(tmp, h.getValue(), ingest);
        log.steps().before(Step.FSYNC_TEMP, tmp);
        CommitLog.fsync(tmp);
        prep.files.add(new CommitLog.FileMove(tmp, dir.resolve(name)));
      }
    }
    return size;
  }

  private void deleteQuietly(List<Path> temps, Path recordTmp) {
    List<Path> all = new ArrayList<>(temps);
    if (recordTmp != null) {
      all.add(recordTmp);
    }
    for (Path t : all) {
      try {
        log.steps().before(Step.UPKEEP, t);
        Files.deleteIfExists(t);
      } catch (IOException ignored) {
        // best effort; the orphan sweep removes what is left
      }
    }
  }

  @Override
  public void flush() {
    if (closed.get()) {
      return; // closed: everything was flushed then
    }
    // Each partition's roll takes everything written before this call; then its other commits in progress end too.
    CompletableFuture.allOf(partitions.values().stream()
        .map(p -> CompletableFuture.runAsync(() -> {
          roll(p);
          awaitCommits(p);
        }, committers)).toArray(CompletableFuture[]::new)).join();
  }

  @Override
  public void close() {
    if (closed.get()) {
      return;
    }
    try {
      flush();
    } finally {
      closed.set(true);
      if (owned != null) {
        owned.close();
      }
    }
  }

  /** For crash tests: stops this instance's threads as a killed process would, committing and completing nothing. */
  void abandon() {
    closed.set(true);
    if (owned != null) {
      owned.kill();
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
