package io.iotpipe.sink;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import java.time.Duration;
import java.util.List;

/**
 * A kind of sink the runtime can run, found with {@link java.util.ServiceLoader}: a sink module lists its plugin in
 * {@code META-INF/services/io.iotpipe.sink.SinkPlugin} and the runtime, which depends on no sink, runs it as the role
 * {@link #role()} over the partition queues of {@link #sink()}. Adding a sink touches no framework file (the model
 * is Kafka Connect's {@code SinkConnector}: the worker imports no connector).
 */
public interface SinkPlugin {

  /** The role name operators start ({@code iotpipe run --role NAME}), e.g. {@code index}. */
  String role();

  /** The sink's name in {@code topology.sinks}: its partition queues, metrics tag and dead-letter headers. */
  String sink();

  /** One line for {@code run --help} and logs. */
  String description();

  /** The consumer settings of this sink's config section (prefetch, batches, retries). */
  ConsumerSettings consumer(IotpipeConfig cfg);

  /**
   * How often the runtime calls {@link Sink#commit()}: the sink's roll policy (age, size) decides what is due at
   * each call, the runtime owns the clock. {@link Duration#ZERO}: never (a sink whose writes are durable when their
   * stage completes, such as a {@code _bulk}).
   */
  default Duration commitTick(IotpipeConfig cfg) {
    return Duration.ZERO;
  }

  /** Threads of {@link SinkContext#workers()} this sink may keep busy (blocking commits, set-up requests). */
  default int workerThreads(IotpipeConfig cfg) {
    return 1;
  }

  /** Creates the sink for one process; called once per run of the role. */
  Sink create(IotpipeConfig cfg, SinkContext ctx);

  /**
   * Background upkeep the runtime schedules for this sink (compaction, retention): run on a low-priority runtime
   * thread, never on the path that acks readings. Several instances may run them at once: a job must be safe with
   * that (skip the round when another instance holds the work).
   */
  default List<ScheduledJob> jobs(IotpipeConfig cfg, SinkContext ctx) {
    return List.of();
  }
}
