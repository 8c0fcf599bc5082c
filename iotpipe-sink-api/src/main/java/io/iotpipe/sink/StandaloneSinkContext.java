package io.iotpipe.sink;

import io.iotpipe.core.config.ConsumerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The runtime's part for a sink run without the runtime (unit tests, offline tools): worker threads and a commit
 * clock that ticks the sink every {@code tick}. Owned by whoever created it; {@link #close()} stops its threads.
 */
public final class StandaloneSinkContext implements SinkContext, AutoCloseable {

  private final String instanceId;
  private final MeterRegistry registry;
  private final Clock clock;
  private final ConsumerSettings consumer;
  private final ExecutorService workers;
  private final ScheduledExecutorService ticker;
  private volatile Supplier<Sink> sink = () -> null;

  public StandaloneSinkContext(String instanceId, MeterRegistry registry, Clock clock, ConsumerSettings consumer,
                               int workerThreads, Duration tick) {
    this.instanceId = instanceId;
    this.registry = registry;
    this.clock = clock;
    this.consumer = consumer;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(Math.max(1, workerThreads), r -> daemon(r, "sink-worker-" + n.incrementAndGet()));
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sink-commit-clock"));
    if (!tick.isZero()) {
      ticker.scheduleWithFixedDelay(this::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** The sink this context ticks (set once the sink exists: it is created with this context). */
  public StandaloneSinkContext drive(Sink s) {
    this.sink = () -> s;
    return this;
  }

  private void tick() {
    Sink s = sink.get();
    if (s != null) {
      try {
        s.commit();
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(StandaloneSinkContext.class).warn("commit tick failed: {}", e.toString());
      }
    }
  }

  @Override
  public String instanceId() {
    return instanceId;
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public ConsumerSettings consumer() {
    return consumer;
  }

  @Override
  public ExecutorService workers() {
    return workers;
  }

  @Override
  public void requestCommit() {
    ticker.execute(this::tick);
  }

  /** Stops the clock, then lets the workers finish what they were given (up to 30 s). */
  @Override
  public void close() {
    ticker.shutdownNow();
    workers.shutdown();
    try {
      workers.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops every thread at once, finishing nothing (a crash, for tests). */
  public void kill() {
    ticker.shutdownNow();
    workers.shutdownNow();
  }
}
