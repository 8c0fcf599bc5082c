package io.iotpipe.sink;

import io.iotpipe.core.config.ConsumerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The part of a {@link SinkContext} that is the same wherever a sink runs: its identity, metrics, clock, consumer
 * settings and a pool of worker threads owned by whoever created the context. Subclasses say where commit requests go.
 */
public abstract class WorkerContext implements SinkContext {

  private final String instanceId;
  private final MeterRegistry registry;
  private final Clock clock;
  private final ConsumerSettings consumer;
  private final ExecutorService workers;

  protected WorkerContext(String instanceId, MeterRegistry registry, Clock clock, ConsumerSettings consumer,
                          int workerThreads, String threadPrefix) {
    this.instanceId = instanceId;
    this.registry = registry;
    this.clock = clock;
    this.consumer = consumer;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(Math.max(1, workerThreads), r -> {
      Thread t = new Thread(r, threadPrefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
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

  /** Lets the workers finish what they were given (up to {@code timeoutMillis}), then stops them. */
  protected void stopWorkers(long timeoutMillis) {
    workers.shutdown();
    try {
      workers.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the workers at once, finishing nothing (a crash, for tests). */
  protected void killWorkers() {
    workers.shutdownNow();
  }
}
