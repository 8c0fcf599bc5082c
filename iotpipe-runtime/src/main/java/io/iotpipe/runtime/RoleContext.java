package io.iotpipe.runtime;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.sink.SinkContext;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** What the runtime hands to the sink of one role: its worker threads, and commits requested through its consumer. */
final class RoleContext implements SinkContext {

  private final String instanceId;
  private final MeterRegistry registry;
  private final ConsumerSettings consumer;
  private final ExecutorService workers;
  private volatile Runnable commitRequests = () -> {};

  RoleContext(Role role, String instanceId, MeterRegistry registry, ConsumerSettings consumer, int workerThreads) {
    this.instanceId = instanceId;
    this.registry = registry;
    this.consumer = consumer;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(Math.max(1, workerThreads), r -> {
      Thread t = new Thread(r, "iotpipe-" + role.name() + "-worker-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Where {@link #requestCommit()} goes once the role's consumer exists. */
  void onCommitRequest(Runnable r) {
    this.commitRequests = r;
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
    return Clock.systemUTC();
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
    commitRequests.run();
  }

  /** After the sink closed: lets the workers finish what they were given, then stops them. */
  void close(long timeoutMillis) {
    workers.shutdown();
    try {
      workers.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
