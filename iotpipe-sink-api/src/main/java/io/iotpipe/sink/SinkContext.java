package io.iotpipe.sink;

import io.iotpipe.core.config.ConsumerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.Executor;

/**
 * What the runtime hands to a sink it creates (Kafka Connect's {@code SinkTaskContext}): its identity, metrics,
 * clock, the consumer settings really in force, the runtime's threads for blocking work, and a way to ask for a
 * commit before the next tick.
 */
public interface SinkContext {

  /** This process's instance id (distinct per process of a role; in file names, logs and commit records). */
  String instanceId();

  MeterRegistry registry();

  Clock clock();

  /** The consumer settings in force: the prefetch may be lower than configured, fitted to the heap. */
  ConsumerSettings consumer();

  /** Runtime-owned threads ({@link SinkPlugin#workerThreads}) for the sink's blocking work: commits, set-up. */
  Executor workers();

  /** Asks the runtime to call {@link Sink#commit()} soon instead of at the next tick (a size budget was reached). */
  void requestCommit();
}
