package io.iotpipe.sink;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The contract every destination of the pipeline implements (search index, analytics files, ...). The runtime owns
 * connections, reconnects, acks, retries and dead-lettering; a sink only writes and reports what became of each record.
 *
 * <h2>Lifecycle</h2>
 * Called by the runtime in this order, never concurrently for the same partition:
 * <ol>
 *   <li>{@link #open(String)} once for each partition queue this instance starts consuming — at start, and again after
 *       every single-active-consumer handover or reconnect. A sink may load per-partition state here (high-water marks,
 *       commit records written by a previous owner).</li>
 *   <li>{@link #write(List)} any number of times with batches of validated records of open partitions.</li>
 *   <li>{@link #commit()} on the runtime's commit clock ({@link SinkPlugin#commitTick}) and when the sink asked for it
 *       ({@link SinkContext#requestCommit()}): start making durable what the sink's roll policy says is due.</li>
 *   <li>{@link #flush()} before shutdown and handover: make everything held durable now and complete pending stages.</li>
 *   <li>{@link #close(String)} when this instance stops consuming a partition (channel lost, consumer cancelled,
 *       handover). Its unacked messages are back on the broker and may go to another instance: the sink must complete
 *       every pending stage of that partition (as {@link Outcome.Retry}) and must not make anything of it durable
 *       after this call returns, unless that is idempotent (same ids, same commit record).</li>
 *   <li>{@link #close()} once, at the end: pending stages must complete (delivered or retry) before it returns.</li>
 * </ol>
 *
 * <h2>Outcomes</h2>
 * The returned stage completes with exactly one {@link Outcome} per record, in order. The essential rule:
 * {@link Outcome.Delivered} may only be reported once the record is durable in the sink (bulk item acknowledged by the
 * engine, file fsynced and committed, or handed off durably so that whichever instance next owns the partition
 * commits it), because the message is acked on the queue at that moment and the broker forgets it. {@link Outcome.Retry} is for transient failures (the runtime applies backoff and the retry budget);
 * {@link Outcome.Reject} for records that can never succeed (dead-lettered with the reason). A stage that completes
 * exceptionally counts as {@code Retry} for the whole batch.
 *
 * <h2>Settlement</h2>
 * The runtime settles the <em>source</em> from the outcomes, never the sink: for a queue each {@code Delivered} or
 * dead-lettered record is acked; for a stream the stored offset advances to the highest offset below which every
 * record is settled. Either way a sink only promises that {@code Delivered} means durable, so the same sink runs
 * behind both (Kafka Connect's {@code preCommit} returns the same promise as offsets).
 *
 * <h2>Threads</h2>
 * A sink starts no timers or thread pools: the runtime owns the clock ({@link #commit()}), runs blocking work on
 * {@link SinkContext#workers()} and schedules upkeep ({@link SinkPlugin#jobs}).
 *
 * <h2>Idempotence</h2>
 * Records offered again after a retry or a broker redelivery carry the same {@code (deviceId, seq)}; sinks must treat
 * them idempotently (deterministic ids, commit records) and keep the first content when a later record with the same
 * key differs (reported as {@code Reject} with the reason, so both sinks agree).
 */
public interface Sink extends AutoCloseable {

  /** A short name for logs, metrics and dead-letter headers, e.g. {@code elk} or {@code storage}. */
  String name();

  /** This instance now consumes {@code partition} (a queue name); see the lifecycle above. */
  default void open(String partition) {}

  /** Accepts a batch; the returned stage completes with exactly {@code batch.size()} outcomes, in order. */
  CompletionStage<List<Outcome>> write(List<SinkRecord> batch);

  /**
   * Whether the runtime should hand this sink batches of one partition queue each. A batch's acks wait for its
   * slowest record: a sink that completes records per partition (a file per partition) would otherwise make each
   * partition's acks wait for the other partitions' files, and a partition whose unacked readings reach the prefetch
   * stalls. Default false: a sink that writes a batch in one request (a {@code _bulk}) wants it whole.
   */
  default boolean batchesPerPartition() {
    return false;
  }

  /**
   * A tick of the runtime's commit clock: the sink starts committing what its roll policy says is due (oldest row
   * older than its age limit, a size reached) and returns without waiting; the stages of those records complete when
   * they are durable. Called from one runtime thread, never concurrently with itself.
   */
  default void commit() {}

  /**
   * Makes everything the sink holds durable now and completes the pending stages; returns when done (shutdown,
   * tests).
   */
  default void flush() {}

  /** This instance no longer consumes {@code partition}; see the lifecycle above. */
  default void close(String partition) {}

  /**
   * The sink's own view of its health (engine reachable, commit alarms). The runtime combines it with what it sees
   * (failing writes, broker connection) for {@code /health}.
   */
  default SinkHealth health() {
    return SinkHealth.UP;
  }

  /** Releases resources; pending stages must complete (delivered or retry) before this returns. */
  @Override
  void close();
}
