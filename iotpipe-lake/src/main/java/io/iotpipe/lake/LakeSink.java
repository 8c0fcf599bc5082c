package io.iotpipe.lake;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data scientists' store as an Iceberg table. {@link #write} buffers readings per source partition; on the
 * runtime's ticks the buffers are handed off — data files and a stage record on the object store ({@link HandOff}),
 * and their readings are {@code Delivered} (acked) then — and every {@code commitInterval} the staged files of all
 * partitions become one snapshot. A new owner of a partition claims it: it commits the stages a former owner left on
 * the partition's chain before it writes. Where the storage cannot list, readings are acked at the commit instead.
 * Commit timing belongs to the runtime: no thread or timer of its own; {@link #flushDue()} says when a budget asks for
 * an early tick.
 *
 * <p>Exactly once: each snapshot records a commit id, its partitions and, in a state file, per partition the commit it
 * was built on and the partition's committed seq ranges ({@link CommitLedger}); stage records carry their own keys.
 * Both are read back, so readings redelivered after a crash are recognised and not written twice; a second reading
 * with the same {@code (device_id, seq)} and other content is rejected (the first kept).
 * {@code CommitStateUnknownException} is resolved by looking the commit id up in the table's history; a partition
 * fenced off by another writer drops its stages (the new owner has them) or, without the hand-off, completes its
 * readings as {@code Retry}, and re-reads its state before the next write, while the snapshot's other partitions are
 * committed without it.
 */
public final class LakeSink implements Sink {

  private static final Logger LOG = LoggerFactory.getLogger(LakeSink.class);

  /** Approximate heap per buffered row (the row object, its strings and map), for the byte budget. */
  private static final long ROW_BYTES = 400;

  private final String name;
  private final Table table;
  private final long flushRows;
  private final long flushBytes;
  private final Supplier<Instant> clock;
  private final Map<String, PartitionBuffer> partitions = new HashMap<>();
  private long bufferedRows;
  private volatile SinkHealth health = SinkHealth.UP;
  private static final long UNREACHABLE_WARN_EVERY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
  /** When {@link #warnUnreachable} last logged (nanoTime, 0: never), and the warnings it held back since. */
  private long lastUnreachableWarn;
  private long unreachableHeld;
  /** Told when the budget asks for an early commit (the runtime's {@code SinkContext.requestCommit}). */
  private volatile Runnable onFlushDue = () -> {};
  /** An early commit once one partition buffers this many readings (see {@link #partitionBudget}). */
  private long partitionRows = Long.MAX_VALUE;
  /** Whether some partition reached {@link #partitionRows} since the last commit. */
  private boolean partitionFull;
  /** Whether {@link #onFlushDue} was told since the last commit: once per commit, not on every later batch. */
  private boolean flushRequested;
  /**
   * Held for a whole commit, apart from the sink's monitor: the I/O of a commit (data files, state file, catalog swap)
   * runs without the monitor, so the partitions keep receiving readings into fresh buffers meanwhile (otherwise the
   * consumers wait for every commit, and a partition's next half-prefetch only starts arriving after it).
   */
  private final java.util.concurrent.locks.ReentrantLock commitLock = new java.util.concurrent.locks.ReentrantLock();
  private CommitMeters meters = new CommitMeters(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
  private java.util.concurrent.Executor stagers = Runnable::run;
  /** See {@link #cadence}: zero for both, every {@link #commit()} commits what is buffered. */
  private long intervalNanos;
  private long spacingNanos;
  /** When the oldest reading now buffered arrived (nanoTime; 0: none buffered), and when the last commit started. */
  private long oldestPendingNanos;
  private long lastCommitNanos;
  /** When the oldest staged (acked, not yet committed) reading was staged (nanoTime; 0: none). */
  private long oldestStagedNanos;
  /**
   * Whether readings are acked at a durable hand-off ({@link HandOff}: data files and a stage record on the object
   * store) rather than at the commit: where the storage can list, which a new owner needs to find the stages.
   */
  private final boolean handOff;

  /**
   * @param table      the telemetry table (see {@link TelemetryTable#createOrLoad}); tests pass one whose I/O fails
   * @param flushRows  {@link #flushDue()} once this many rows wait for a commit
   * @param flushBytes ... or about this many bytes of heap
   */
  public LakeSink(String name, Table table, long flushRows, long flushBytes) {
    this(name, table, flushRows, flushBytes, Instant::now);
  }

  LakeSink(String name, Table table, long flushRows, long flushBytes, Supplier<Instant> clock) {
    this.name = name;
    this.table = table;
    this.flushRows = flushRows;
    this.flushBytes = flushBytes;
    this.clock = clock;
    this.handOff = HandOff.supported(table);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public boolean batchesPerPartition() {
    return true;
  }

  @Override
  public synchronized void open(String partition) {
    PartitionBuffer old = partitions.remove(partition);
    if (old != null) {
      old.failAll("partition reopened before its commit");
    }
    // Read (and with the hand-off claimed) at its first write or the next tick, whichever comes first: stages a former
    // owner acked are committed even if no reading follows, and partitions opened together are claimed together.
    partitions.put(partition, new PartitionBuffer(partition));
  }

  /** Reads (and with the hand-off claims) a partition; on failure it is read again at its next write or tick. */
  private void loadQuietly(PartitionBuffer p) {
    try {
      p.ensureLoaded();
    } catch (RuntimeException e) {
      warnUnreachable(p.partition, e);
    }
  }

  /** Whether the buffered rows reached the row or byte budget: the runtime should call {@link #flush()} now. */
  public synchronized boolean flushDue() {
    return partitionFull || bufferedRows >= flushRows || bufferedRows * ROW_BYTES >= flushBytes;
  }

  /**
   * An early hand-off (or, without one, commit) once one partition buffers {@code rows} readings. The role passes half
   * its prefetch: readings are acked only then, so a partition holding its whole prefetch unacked gets no more
   * deliveries and would idle until the next tick (the file store rolls at the same share for the same reason).
   */
  public synchronized LakeSink partitionBudget(long rows) {
    this.partitionRows = Math.max(1, rows);
    return this;
  }

  /**
   * When a tick of the runtime's clock commits: once the oldest staged (with the hand-off) or buffered (without)
   * reading waited {@code interval}, without the hand-off also when a budget asks for it — never within
   * {@code minSpacing} of the last commit's start (every commit is a snapshot that the table's metadata lists until
   * expiry). The runtime's clock ticks every {@code minSpacing}; with the hand-off each tick stages what is buffered.
   */
  public synchronized LakeSink cadence(java.time.Duration interval, java.time.Duration minSpacing) {
    this.intervalNanos = interval.toNanos();
    this.spacingNanos = minSpacing.toNanos();
    return this;
  }

  /**
   * Where the partitions' hand-offs run, in parallel (each is an upload round trip or two); by default in the calling
   * thread, one after the other. The runtime's workers ({@code SinkContext.workers()}).
   */
  public LakeSink stagers(java.util.concurrent.Executor executor) {
    this.stagers = executor;
    return this;
  }

  /** Where the commit timers go (the role's registry; by default a private one). */
  public LakeSink metrics(io.micrometer.core.instrument.MeterRegistry registry) {
    this.meters = new CommitMeters(registry);
    return this;
  }

  /** Who to tell when {@link #flushDue()} becomes true after a write (the runtime then ticks {@link #commit()}). */
  public LakeSink whenFlushDue(Runnable r) {
    this.onFlushDue = r;
    return this;
  }

  /**
   * A tick of the runtime's commit clock (every {@code lake.minCommitSpacing}, or early when a budget is reached):
   * stages what is buffered (with the hand-off) and commits when the cadence says it is due ({@link #cadence}).
   */
  @Override
  public void commit() {
    boolean stage;
    boolean publish;
    synchronized (this) {
      long now = System.nanoTime();
      boolean spaced = lastCommitNanos == 0 || now - lastCommitNanos >= spacingNanos;
      if (handOff) {
        // stages are not snapshots: every tick and every budget stages what is buffered, as its acks wait for it
        stage = oldestPendingNanos != 0 || partitions.values().stream().anyMatch(p -> !p.loaded);
        publish = spaced && oldestStagedNanos != 0 && now - oldestStagedNanos >= intervalNanos;
      } else {
        stage = false;
        publish = spaced && ((oldestPendingNanos != 0 && now - oldestPendingNanos >= intervalNanos) || flushDue());
      }
    }
    if (stage || publish) {
      run(stage, publish);
    }
  }

  /** Whether readings are acked at the hand-off (staged) rather than at the commit; see {@link HandOff}. */
  public boolean handsOff() {
    return handOff;
  }

  public synchronized long bufferedRows() {
    return bufferedRows;
  }

  @Override
  public synchronized CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    List<CompletableFuture<Outcome>> outcomes = new ArrayList<>(batch.size());
    Map<String, List<Integer>> byPartition = new LinkedHashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      outcomes.add(new CompletableFuture<>());
      byPartition.computeIfAbsent(batch.get(i).source(), p -> new ArrayList<>()).add(i);
    }
    Instant ingest = clock.get();
    byPartition.forEach((partition, idx) -> {
      try {
        PartitionBuffer p = partitions.computeIfAbsent(partition, PartitionBuffer::new);
        p.ensureLoaded();
        Schema schema = table.schema();
        List<Integer> seenBefore = new ArrayList<>();
        for (int i : idx) {
          Telemetry t = batch.get(i).telemetry();
          String key = key(t);
          if (p.committed.contains(t.deviceId(), t.seq())) {
            Integer staged = p.stagedPrints.get(key);
            if (staged == null) {
              seenBefore.add(i);
            } else {
              // staged, not yet committed: compared with what was staged (the table does not hold it yet)
              boolean same = staged == TelemetryTable.fingerprint(TelemetryTable.toRecord(schema, t, ingest));
              outcomes.get(i).complete(same ? Outcome.DELIVERED : differs(t, "received"));
            }
            continue;
          }
          Record row = TelemetryTable.toRecord(schema, t, ingest);
          Pending committing = p.inflight.get(key);
          if (committing != null) {
            // in the commit running now: completes with it
            if (TelemetryTable.sameReading(committing.row, row)) {
              committing.waiters.add(outcomes.get(i));
            } else {
              outcomes.get(i).complete(differs(t, "received"));
            }
            continue;
          }
          Pending pending = p.pending.get(key);
          if (pending == null) {
            if (oldestPendingNanos == 0) {
              oldestPendingNanos = System.nanoTime();
            }
            pending = new Pending(row);
            p.pending.put(key, pending);
            bufferedRows++;
          } else if (!TelemetryTable.sameReading(pending.row, row)) {
            outcomes.get(i).complete(differs(t, "received"));
            continue;
          }
          pending.waiters.add(outcomes.get(i));
        }
        if (p.pending.size() >= partitionRows) {
          partitionFull = true;
        }
        if (!seenBefore.isEmpty()) {
          settleCommitted(batch, seenBefore, outcomes, schema, ingest);
        }
      } catch (RuntimeException e) {
        // The table or its state is unreachable: nothing of these readings is held, they come back later.
        warnUnreachable(partition, e);
        health = SinkHealth.degraded("cannot read the table: " + LakeCatalog.explain(e));
        for (int i : idx) {
          outcomes.get(i).complete(Outcome.retry("cannot read the table: " + LakeCatalog.explain(e)));
        }
      }
    });
    if (!flushRequested && flushDue()) {
      flushRequested = true;
      onFlushDue.run();
    }
    return CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
        .thenApply(v -> outcomes.stream().map(CompletableFuture::join).toList());
  }

  /**
   * One warning per 10 s while the table cannot be read: during an outage every batch of retried readings fails the
   * same way, hundreds a second, which buries the lines that matter.
   */
  private void warnUnreachable(String partition, RuntimeException e) {
    long now = System.nanoTime();
    if (lastUnreachableWarn != 0 && now - lastUnreachableWarn < UNREACHABLE_WARN_EVERY_NANOS) {
      unreachableHeld++;
      return;
    }
    LOG.warn("{}: cannot accept readings of {} (they are retried until the table is readable again: is the object store at"
            + " lake.s3.endpoint and the catalog at lake.catalog.uri reachable?): {}{}", name, partition, LakeCatalog.explain(e),
        unreachableHeld == 0 ? "" : " (" + unreachableHeld + " more like it since the last warning)");
    lastUnreachableWarn = now;
    unreachableHeld = 0;
  }

  /**
   * Readings whose key is already committed (a redelivery, typically after a crash between commit and ack): compared
   * with the committed rows, read from the table in one scan, so a redelivery is {@code Delivered} without a second
   * copy and a different reading under the same key is rejected.
   */
  private void settleCommitted(List<SinkRecord> batch, List<Integer> idx, List<CompletableFuture<Outcome>> outcomes,
                               Schema schema, Instant ingest) {
    List<String> devices = idx.stream().map(i -> batch.get(i).telemetry().deviceId()).distinct().toList();
    List<Long> seqs = idx.stream().map(i -> batch.get(i).telemetry().seq()).distinct().toList();
    Map<String, Record> stored = new HashMap<>();
    table.refresh();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table)
        .where(Expressions.and(Expressions.in("device_id", devices.toArray()), Expressions.in("seq", seqs.toArray())))
        .build()) {
      for (Record r : rows) {
        stored.putIfAbsent(r.getField("device_id") + ":" + r.getField("seq"), r.copy());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (int i : idx) {
      Telemetry t = batch.get(i).telemetry();
      Record have = stored.get(key(t));
      if (have == null || TelemetryTable.sameReading(have, TelemetryTable.toRecord(schema, t, ingest))) {
        // Not found: committed once and since removed by retention; writing it again would resurrect it.
        outcomes.get(i).complete(Outcome.DELIVERED);
      } else {
        outcomes.get(i).complete(differs(t, "stored"));
      }
    }
  }

  private static Outcome differs(Telemetry t, String where) {
    return Outcome.reject("(deviceId, seq) (" + t.deviceId() + ", " + t.seq() + ") already " + where
        + " with different content; the store keeps the first reading");
  }

  private static String key(Telemetry t) {
    return t.deviceId() + ":" + t.seq();
  }

  /**
   * Commits the buffered readings of every partition that has some as one snapshot and completes their stages. A
   * partition another writer committed meanwhile (a handover this instance missed) is fenced off: its readings
   * complete as {@code Retry} and its state is re-read, and the other partitions' readings are committed again at once
   * in a snapshot without it. Their heads were confirmed by the same fence, and a lost partition says nothing about
   * them: failing them too would send their readings through the broker again for nothing, and a writer that keeps
   * losing one partition to a rival would hold back all of its others.
   *
   * <p>The buffers are taken under the monitor and committed outside it: readings arriving meanwhile go to fresh
   * buffers (a redelivery of a reading being committed joins that commit), for the next commit.
   */
  @Override
  public void flush() {
    run(true, true);
  }

  /** Stages and/or commits, one at a time (the commit lock), the I/O outside the monitor. */
  private void run(boolean stage, boolean publish) {
    commitLock.lock();
    try {
      if (!handOff) {
        commitBuffers();
        return;
      }
      synchronized (this) {
        partitions.values().stream().filter(p -> !p.loaded && p.pending.isEmpty()).findFirst().ifPresent(this::loadQuietly);
      }
      if (stage) {
        stageAll();
      }
      if (publish) {
        publishStaged();
      }
    } finally {
      commitLock.unlock();
    }
  }

  /** Without the hand-off: the buffers are committed and their readings acked then. */
  private void commitBuffers() {
    List<PartitionBuffer> due = takeDue(true);
    if (due.isEmpty()) {
      return;
    }
    inRounds(due, this::commit, (failed, e) -> {
      LOG.warn("{}: commit of {} failed, {} readings will be retried: {}", name, names(failed), inflightOf(failed), e.toString());
      synchronized (this) {
        health = SinkHealth.degraded("commit failed: " + LakeCatalog.explain(e));
        for (PartitionBuffer p : attached(failed)) {
          p.failInflight("commit failed: " + LakeCatalog.explain(e));
          // Whatever happened (a rival writer, a commit that landed after all), the table is the truth: re-read it.
          p.loaded = false;
        }
      }
    }, lost -> "their " + inflightOf(lost) + " readings will be retried", p -> {
      p.failInflight("partition " + p.partition + " was committed by another writer: this instance no longer owns it");
      p.loaded = false;
    });
  }

  /**
   * Commits {@code due} in rounds: {@code attempt} commits them as one snapshot and returns the partitions the fence
   * refused; those go to {@code fenced} (under the monitor) and the others are committed again at once without them.
   * Each round drops at least one partition, so this ends. A round that throws goes to {@code failed} and ends it.
   */
  private void inRounds(List<PartitionBuffer> due, java.util.function.Function<List<PartitionBuffer>, Set<String>> attempt,
                        java.util.function.BiConsumer<List<PartitionBuffer>, RuntimeException> failed,
                        java.util.function.Function<List<PartitionBuffer>, String> fate,
                        java.util.function.Consumer<PartitionBuffer> fenced) {
    boolean clean = true;
    while (!due.isEmpty()) {
      Set<String> refused;
      try {
        refused = attempt.apply(due);
      } catch (RuntimeException e) {
        failed.accept(due, e);
        return;
      }
      if (refused.isEmpty()) {
        break;
      }
      clean = false;
      List<PartitionBuffer> lost = due.stream().filter(p -> refused.contains(p.partition)).toList();
      due = due.stream().filter(p -> !refused.contains(p.partition)).toList();
      LOG.warn("{}: {} committed by another writer (a handover this instance missed): {}; committing {} again without them",
          name, refused, fate.apply(lost), due.isEmpty() ? "nothing" : names(due));
      synchronized (this) {
        health = SinkHealth.degraded("partitions " + refused + " were committed by another writer");
        attached(lost).forEach(fenced);
      }
    }
    if (clean) {
      health = SinkHealth.UP;
    }
  }

  /**
   * Moves every partition's buffer into its commit-in-flight and notes what the commit builds on (the partition's head
   * and committed keys), under the monitor so {@link #write} sees either the buffer or the commit.
   */
  private synchronized List<PartitionBuffer> takeDue(boolean isCommit) {
    partitionFull = false;
    flushRequested = false;
    oldestPendingNanos = 0;
    if (isCommit) {
      lastCommitNanos = System.nanoTime();
    }
    List<PartitionBuffer> due = new ArrayList<>();
    for (PartitionBuffer p : partitions.values()) {
      if (p.pending.isEmpty()) {
        continue;
      }
      if (!p.loaded) {
        // a failed commit left it unsure of its head: re-read before building on it (its buffer was checked against
        // what it knew then; a rival's commit of the same keys fences this one)
        try {
          p.ensureLoaded();
        } catch (RuntimeException e) {
          warnUnreachable(p.partition, e);
          p.failAll("cannot read the table: " + LakeCatalog.explain(e));
          continue;
        }
      }
      p.inflight = p.pending;
      p.pending = new LinkedHashMap<>();
      p.inflightBase = p.committed;
      p.inflightHead = p.tip;
      due.add(p);
    }
    return due;
  }

  /**
   * The hand-off: each partition's buffer becomes data files and a stage record ({@link HandOff}), and its readings are
   * {@code Delivered} (acked) once the record is written. A partition that cannot be staged has its readings retried.
   */
  private void stageAll() {
    List<CompletableFuture<Void>> stages = new ArrayList<>();
    for (PartitionBuffer p : takeDue(false)) {
      stages.add(CompletableFuture.runAsync(() -> stage(p), stagers));
    }
    // all of them before the commit lock is released: a commit never sees a chain half written
    for (CompletableFuture<Void> f : stages) {
      try {
        f.join();
      } catch (java.util.concurrent.CompletionException e) {
        if (e.getCause() instanceof Error error) {
          throw error;
        }
        throw e;
      }
    }
  }

  /** One partition's hand-off (on a stager thread); failures complete its readings as Retry. */
  private void stage(PartitionBuffer p) {
    {
      String id = UUID.randomUUID().toString();
      long t0 = System.nanoTime();
      boolean recordSent = false;
      try {
        CommittedSeqs after = p.inflightBase.copy();
        CommittedSeqs added = new CommittedSeqs();
        List<Record> rows = new ArrayList<>(p.inflight.size());
        for (Pending pd : p.inflight.values()) {
          rows.add(pd.row);
          after.add((String) pd.row.getField("device_id"), (Long) pd.row.getField("seq"));
          added.add((String) pd.row.getField("device_id"), (Long) pd.row.getField("seq"));
        }
        List<DataFile> files = SortedFileWriter.write(table, table.schema(), rows, id);
        long t1 = System.nanoTime();
        String location = HandOff.location(table, p.partition, p.inflightHead, id);
        recordSent = true;
        HandOff.write(table, new HandOff.Stage(id, p.partition, p.inflightHead, files, added, location));
        HandOff.Stage st = new HandOff.Stage(id, p.partition, p.inflightHead, files, null, location);
        meters.staged(rows.size(), files.size(), t1 - t0, System.nanoTime() - t1);
        synchronized (this) {
          if (partitions.get(p.partition) != p) {
            return; // closed meanwhile: its readings were retried; the next owner adopts the stage or sees them again
          }
          p.staged.add(st);
          p.tip = id;
          p.committed = after;
          for (Map.Entry<String, Pending> e : p.inflight.entrySet()) {
            p.stagedPrints.put(e.getKey(), TelemetryTable.fingerprint(e.getValue().row));
          }
          if (oldestStagedNanos == 0) {
            oldestStagedNanos = System.nanoTime();
          }
          bufferedRows -= p.inflight.size();
          for (Pending pd : p.inflight.values()) {
            pd.waiters.forEach(w -> w.complete(Outcome.DELIVERED));
          }
          p.inflight = new LinkedHashMap<>();
        }
      } catch (RuntimeException e) {
        LOG.warn("{}: cannot stage {} readings of {}, they will be retried: {}", name, p.inflight.size(), p.partition, e.toString());
        synchronized (this) {
          health = SinkHealth.degraded("cannot stage readings: " + LakeCatalog.explain(e));
          if (partitions.get(p.partition) == p) {
            p.failInflight("cannot stage: " + LakeCatalog.explain(e));
            if (recordSent) {
              // the record may exist after all: claim the partition again before its next stage, so its chain stays
              // one line (a second record built on the same stage would make the chain ambiguous)
              p.loaded = false;
            }
          }
        }
      }
    }
  }

  /**
   * Commits every partition's staged readings as one snapshot. Their readings are acked already: a commit that fails
   * keeps them staged for the next tick; a partition fenced off by another writer drops them, since that writer
   * adopted its stages (it lists them when it takes the partition over) or the broker gave it the readings again (a
   * stage written after that listing had its acks refused).
   */
  private void publishStaged() {
    List<PartitionBuffer> due;
    Map<String, List<HandOff.Stage>> chains = new HashMap<>();
    Map<String, CommittedSeqs> afters = new HashMap<>();
    synchronized (this) {
      due = new ArrayList<>();
      for (PartitionBuffer p : partitions.values()) {
        if (!p.staged.isEmpty()) {
          due.add(p);
          chains.put(p.partition, List.copyOf(p.staged));
          afters.put(p.partition, p.committed); // after its last stage: no stage runs during a commit (the commit lock)
        }
      }
      lastCommitNanos = System.nanoTime();
    }
    inRounds(due, d -> commitChains(d, chains, afters), (failed, e) -> {
      LOG.warn("{}: commit of {} failed, its staged readings are committed at the next attempt: {}", name, names(failed), e.toString());
      health = SinkHealth.degraded("commit failed: " + LakeCatalog.explain(e));
    }, lost -> "their staged readings are that writer's now", p -> {
      p.staged.clear();
      p.stagedPrints.clear();
      p.loaded = false;
      recountStaged();
    });
  }

  /** One snapshot of the staged chains of {@code due}; returns the fenced partitions (then nothing was committed). */
  private Set<String> commitChains(List<PartitionBuffer> due, Map<String, List<HandOff.Stage>> chains,
                                   Map<String, CommittedSeqs> afters) {
    long t0 = System.nanoTime();
    table.refresh();
    String commitId = UUID.randomUUID().toString();
    Map<String, CommitLedger.PartitionState> states = new LinkedHashMap<>();
    Map<String, String> builtOn = new HashMap<>();
    List<DataFile> files = new ArrayList<>();
    long rows = 0;
    for (PartitionBuffer p : due) {
      List<HandOff.Stage> chain = chains.get(p.partition);
      states.put(p.partition, new CommitLedger.PartitionState(p.headCommitId, afters.get(p.partition)));
      builtOn.put(p.partition, p.headCommitId);
      for (HandOff.Stage st : chain) {
        files.addAll(st.files());
        rows += st.files().stream().mapToLong(DataFile::recordCount).sum();
      }
    }
    long t1 = System.nanoTime();
    String state = CommitLedger.stateLocation(table, commitId);
    CommitLedger.writeState(table.io(), state, commitId, states);
    long t2 = System.nanoTime();
    Set<String> fenced = swap(files, commitId, states, builtOn, names(due));
    if (!fenced.isEmpty()) {
      return fenced;
    }
    meters.record((int) rows, 0, t1 - t0, 0, t2 - t1, System.nanoTime() - t2);
    List<HandOff.Stage> done = new ArrayList<>();
    synchronized (this) {
      for (PartitionBuffer p : attached(due)) {
        List<HandOff.Stage> chain = chains.get(p.partition);
        done.addAll(chain);
        p.headCommitId = commitId;
        p.staged.removeAll(chain);
        if (p.staged.isEmpty()) {
          p.tip = commitId;
          p.stagedPrints.clear();
        }
      }
      recountStaged();
    }
    HandOff.forget(table, done);
    return Set.of();
  }

  /**
   * The catalog swap of a snapshot adding {@code files}, fenced by {@code builtOn}: the fenced partitions (nothing
   * committed), or empty once committed; throws when the commit failed otherwise. An unknown commit state is resolved
   * from the table's history.
   */
  private Set<String> swap(List<DataFile> files, String commitId, Map<String, CommitLedger.PartitionState> states,
                           Map<String, String> builtOn, List<String> names) {
    String state = CommitLedger.stateLocation(table, commitId);
    AppendFiles append = table.newAppend();
    files.forEach(append::appendFile);
    append.set(CommitLedger.COMMIT_ID, commitId).set(CommitLedger.PARTITIONS, CommitLedger.partitionsValue(states.keySet()))
        .set(CommitLedger.STATE, state);
    CommitLedger.Fence fence = CommitLedger.fence(builtOn);
    append.validateWith(fence);
    try {
      append.commit();
    } catch (ValidationException e) {
      Set<String> fenced = fence.fenced();
      if (fenced.isEmpty()) {
        throw e;
      }
      return fenced;
    } catch (CommitStateUnknownException e) {
      // The catalog may or may not have swapped: the table's history says which, never a guess.
      if (!CommitLedger.committed(table, commitId)) {
        throw new IllegalStateException("commit " + commitId + " not in the table after an unknown commit state: " + e.getMessage(), e);
      }
      LOG.info("{}: commit {} of {} landed despite an unknown commit state", name, commitId, names);
    }
    return Set.of();
  }

  /** Under the monitor: {@link #oldestStagedNanos} back to 0 once nothing is staged. */
  private void recountStaged() {
    if (partitions.values().stream().allMatch(p -> p.staged.isEmpty())) {
      oldestStagedNanos = 0;
    }
  }

  /** The buffers still in use: a partition closed (or reopened) during its commit was settled as Retry by close. */
  private List<PartitionBuffer> attached(List<PartitionBuffer> due) {
    return due.stream().filter(p -> partitions.get(p.partition) == p).toList();
  }

  private static List<String> names(List<PartitionBuffer> due) {
    return due.stream().map(p -> p.partition).toList();
  }

  private static int inflightOf(List<PartitionBuffer> due) {
    return due.stream().mapToInt(p -> p.inflight.size()).sum();
  }

  /**
   * One snapshot with the in-flight readings of {@code due}: one data file per event day for all of them, one state
   * file, one catalog swap. Returns the partitions the fence refused (then nothing was committed), empty once committed
   * (their stages completed); throws when the commit failed otherwise. Runs without the monitor: it reads only what
   * {@link #takeDue} set aside.
   */
  private Set<String> commit(List<PartitionBuffer> due) {
    long t0 = System.nanoTime();
    table.refresh();
    String commitId = UUID.randomUUID().toString();
    List<Record> rows = new ArrayList<>(inflightOf(due));
    Map<String, CommitLedger.PartitionState> states = new LinkedHashMap<>();
    Map<String, String> builtOn = new HashMap<>();
    for (PartitionBuffer p : due) {
      CommittedSeqs after = p.inflightBase.copy();
      for (Pending pd : p.inflight.values()) {
        rows.add(pd.row);
        after.add((String) pd.row.getField("device_id"), (Long) pd.row.getField("seq"));
      }
      states.put(p.partition, new CommitLedger.PartitionState(p.inflightHead, after));
      builtOn.put(p.partition, p.inflightHead);
    }
    long t1 = System.nanoTime();
    List<DataFile> files = SortedFileWriter.write(table, table.schema(), rows, commitId);
    long t2 = System.nanoTime();
    String state = CommitLedger.stateLocation(table, commitId);
    CommitLedger.writeState(table.io(), state, commitId, states);
    long t3 = System.nanoTime();

    Set<String> fenced = swap(files, commitId, states, builtOn, names(due));
    if (!fenced.isEmpty()) {
      return fenced;
    }
    meters.record(rows.size(), files.size(), t1 - t0, t2 - t1, t3 - t2, System.nanoTime() - t3);
    synchronized (this) {
      for (PartitionBuffer p : attached(due)) {
        p.committed = states.get(p.partition).committed();
        p.headCommitId = commitId;
        p.tip = commitId;
        bufferedRows -= p.inflight.size();
        for (Pending pd : p.inflight.values()) {
          pd.waiters.forEach(w -> w.complete(Outcome.DELIVERED));
        }
        p.inflight = new LinkedHashMap<>();
      }
    }
    return Set.of();
  }

  @Override
  public synchronized void close(String partition) {
    PartitionBuffer p = partitions.remove(partition);
    if (p != null) {
      // a commit of it in flight may still land: that is idempotent (its state file records the keys, and the next
      // owner's first commit is fenced by it and re-reads them)
      p.failAll("partition " + partition + " closed before its commit");
      p.failInflight("partition " + partition + " closed before its commit");
    }
  }

  @Override
  public SinkHealth health() {
    return health;
  }

  @Override
  public void close() {
    flush();
    synchronized (this) {
      for (PartitionBuffer p : partitions.values()) {
        p.failAll("sink closed before the commit");
      }
      partitions.clear();
    }
  }

  /** A reading waiting for its commit and every stage (first delivery, retries, redeliveries) waiting on it. */
  private static final class Pending {
    final Record row;
    final List<CompletableFuture<Outcome>> waiters = new ArrayList<>(1);

    Pending(Record row) {
      this.row = row;
    }
  }

  /** One source partition's buffer and what the table says is committed of it. */
  private final class PartitionBuffer {
    final String partition;
    LinkedHashMap<String, Pending> pending = new LinkedHashMap<>();
    /** The readings of the commit running now (empty between commits), and what that commit builds on. */
    LinkedHashMap<String, Pending> inflight = new LinkedHashMap<>();
    CommittedSeqs inflightBase;
    String inflightHead;
    /** Staged (acked) and not yet committed, oldest first, with their readings' fingerprints by key. */
    List<HandOff.Stage> staged = new ArrayList<>();
    Map<String, Integer> stagedPrints = new HashMap<>();
    /** What the next stage is built on: the newest stage, or the partition's newest commit. */
    String tip;
    boolean loaded;
    String headCommitId;
    CommittedSeqs committed = new CommittedSeqs();

    PartitionBuffer(String partition) {
      this.partition = partition;
    }

    /**
     * Reads what the table says is committed of this partition, and of every other partition that needs it (after a
     * failed commit, all of that commit's partitions do): one walk of the history, each state file read once.
     */
    void ensureLoaded() {
      if (loaded) {
        return;
      }
      table.refresh();
      List<PartitionBuffer> stale = new ArrayList<>();
      for (PartitionBuffer p : partitions.values()) {
        if (!p.loaded && p.pending.isEmpty() && p.inflight.isEmpty() && p.staged.isEmpty()) {
          stale.add(p);
        }
      }
      if (!stale.contains(this)) {
        stale.add(this);
      }
      Map<String, CommitLedger.PartitionHead> heads;
      try {
        heads = CommitLedger.heads(table, names(stale));
      } catch (RuntimeException e) {
        if (stale.size() == 1) {
          throw e;
        }
        // one unreadable partition must not hold up the others: this one alone (it throws if it is the culprit)
        stale = List.of(this);
        heads = CommitLedger.heads(table, List.of(partition));
      }
      if (handOff) {
        // the partitions' state changes only once the claim is committed: a failed claim leaves what they knew
        claim(stale, heads);
      } else {
        for (PartitionBuffer p : stale) {
          CommitLedger.PartitionHead head = heads.get(p.partition);
          p.headCommitId = head.commitId();
          p.tip = head.commitId();
          p.committed = head.committed();
        }
      }
      stale.forEach(p -> p.loaded = true);
    }

    /**
     * Takes the partitions over on the table: commits the stages a former owner (or this process before a restart)
     * left on their chains, in one snapshot that also roots this owner's own chains at a commit of its own — so a
     * stage a former owner writes later, built on the old head, is never mistaken for one of this owner's. Fenced
     * (another writer committed meanwhile): thrown, and the partitions are read again at the next write.
     */
    private void claim(List<PartitionBuffer> stale, Map<String, CommitLedger.PartitionHead> heads) {
      String commitId = UUID.randomUUID().toString();
      Map<String, CommitLedger.PartitionState> states = new LinkedHashMap<>();
      Map<String, String> builtOn = new HashMap<>();
      List<DataFile> files = new ArrayList<>();
      List<HandOff.Stage> adopted = new ArrayList<>();
      for (PartitionBuffer p : stale) {
        CommitLedger.PartitionHead head = heads.get(p.partition);
        HandOff.Chain chain = HandOff.chain(table, p.partition, head.commitId(), head.committed());
        adopted.addAll(chain.stages());
        chain.stages().forEach(st -> files.addAll(st.files()));
        states.put(p.partition, new CommitLedger.PartitionState(head.commitId(), chain.after()));
        builtOn.put(p.partition, head.commitId());
      }
      CommitLedger.writeState(table.io(), CommitLedger.stateLocation(table, commitId), commitId, states);
      Set<String> fenced = swap(files, commitId, states, builtOn, names(stale));
      if (!fenced.isEmpty()) {
        throw new IllegalStateException("partitions " + fenced + " were committed by another writer while this one took them over");
      }
      if (!adopted.isEmpty()) {
        LOG.info("{}: committed {} stages a former owner of {} had acked but not committed", name, adopted.size(), names(stale));
      }
      for (PartitionBuffer p : stale) {
        p.headCommitId = commitId;
        p.tip = commitId;
        p.committed = states.get(p.partition).committed();
        // what this process had staged is on the chain it just committed
        p.staged.clear();
        p.stagedPrints.clear();
      }
      recountStaged();
      HandOff.forget(table, adopted);
    }

    void failAll(String reason) {
      bufferedRows -= pending.size();
      for (Pending pd : pending.values()) {
        pd.waiters.forEach(w -> w.complete(Outcome.retry(reason)));
      }
      pending.clear();
    }

    void failInflight(String reason) {
      bufferedRows -= inflight.size();
      for (Pending pd : inflight.values()) {
        pd.waiters.forEach(w -> w.complete(Outcome.retry(reason)));
      }
      inflight = new LinkedHashMap<>();
    }
  }
}
