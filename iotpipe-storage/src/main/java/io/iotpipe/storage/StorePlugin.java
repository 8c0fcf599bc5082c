package io.iotpipe.storage;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.sink.ScheduledJob;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.SinkPlugin;
import java.time.Duration;
import java.util.List;

/**
 * The store as a runtime plugin: role {@code store}, the {@code storage} partition queues, the {@code storage:}
 * section. Pseudonymises first when {@code storage.privacy} asks for it; housekeeping is a job the runtime schedules.
 */
public final class StorePlugin implements SinkPlugin {

  @Override
  public String role() {
    return "store";
  }

  @Override
  public String sink() {
    return "storage";
  }

  @Override
  public String description() {
    return "writes readings into query-ready files (Parquet and the configured formats), exactly once";
  }

  @Override
  public ConsumerSettings consumer(IotpipeConfig cfg) {
    return cfg.storage().consumer();
  }

  @Override
  public Duration commitTick(IotpipeConfig cfg) {
    return StorageSink.COMMIT_TICK;
  }

  @Override
  public int workerThreads(IotpipeConfig cfg) {
    return StorageSink.COMMIT_THREADS;
  }

  /** Files are sized from the prefetch really in force (fitted to the heap), not the configured one. */
  @Override
  public Sink create(IotpipeConfig cfg, SinkContext ctx) {
    Sink files = new StorageSink(cfg.storage().withConsumer(ctx.consumer()), ctx);
    return cfg.storage().privacy().active() ? new io.iotpipe.sink.PrivateSink(files, cfg.storage().privacy()) : files;
  }

  @Override
  public List<ScheduledJob> jobs(IotpipeConfig cfg, SinkContext ctx) {
    return new Housekeeper(cfg.storage(), ctx.clock(), ctx.registry()).jobs();
  }
}
