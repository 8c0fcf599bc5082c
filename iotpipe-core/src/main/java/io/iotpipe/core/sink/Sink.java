package io.iotpipe.core.sink;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The contract every destination of the pipeline implements (search index, analytics files, ...).
 *
 * <p>The consumer loop hands over batches of validated records. The sink answers asynchronously with one
 * {@link Outcome} per record, in the order given. The essential rule: {@link Outcome.Delivered} may only be reported
 * once the record is durable in the sink (bulk item acknowledged by the engine, file fsynced and committed), because
 * the message is acked on the queue at that moment and the broker forgets it.
 *
 * <p>Answering asynchronously lets a sink keep several batches in flight (bulk pipelining) or hold records until a
 * file rolls, while the consumer keeps reading within its prefetch bound.
 *
 * <p>Records offered again after a {@link Outcome.Retry} or after a broker redelivery carry the same
 * {@code (deviceId, seq)}; sinks must treat them idempotently (deterministic ids, high-water marks).
 */
public interface Sink extends AutoCloseable {

  /** A short name for logs, metrics and dead-letter headers, e.g. {@code elk} or {@code storage}. */
  String name();

  /** Accepts a batch; the returned stage completes with exactly {@code batch.size()} outcomes, in order. */
  CompletionStage<List<Outcome>> write(List<SinkRecord> batch);

  /**
   * Asks the sink to make everything it holds durable now and complete the pending stages (called on shutdown and
   * periodically so that time-bounded visibility holds even when traffic stops).
   */
  default void flush() {}

  /** Releases resources; pending stages must complete (delivered or retry) before this returns. */
  @Override
  void close();
}
