package io.iotpipe.sink;

import io.iotpipe.core.config.ConsumerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The runtime's part for a sink run without the runtime (unit tests, offline tools): worker threads and a commit
 * clock that ticks the sink every {@code tick}. Owned by whoever created it; {@link #close()} stops its threads.
 */
public final class StandaloneSinkContext extends WorkerContext implements AutoCloseable {

  private final ScheduledExecutorService ticker;
  private volatile Sink sink;

  public StandaloneSinkContext(String instanceId, MeterRegistry registry, Clock clock, ConsumerSettings consumer,
                               int workerThreads, Duration tick) {
    super(instanceId, registry, clock, consumer, workerThreads, "sink-worker-");
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sink-commit-clock");
      t.setDaemon(true);
      return t;
    });
    if (!tick.isZero()) {
      ticker.scheduleWithFixedDelay(this::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** The sink this context ticks (set once the sink exists: it is created with this context). */
  public StandaloneSinkContext drive(Sink s) {
    this.sink = s;
    return this;
  }

  private void tick() {
    Sink s = sink;
    if (s != null) {
      try {
        s.commit();
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(StandaloneSinkContext.class).warn("commit tick failed: {}", e.toString());
      }
    }
  }

  @Override
  public void requestCommit() {
    ticker.execute(this::tick);
  }

  /** Stops the clock, then lets the workers finish what they were given (up to 30 s). */
  @Override
  public void close() {
    ticker.shutdownNow();
    stopWorkers(30_000);
  }

  /** Stops every thread at once, finishing nothing (a crash, for tests). */
  public void kill() {
    ticker.shutdownNow();
    killWorkers();
  }
}
