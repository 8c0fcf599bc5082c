package io.iotpipe.runtime;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.sink.WorkerContext;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;

/** What the runtime hands to the sink of one role: its worker threads, and commits requested through its consumer. */
final class RoleContext extends WorkerContext {

  private volatile Runnable commitRequests = () -> {};

  RoleContext(Role role, String instanceId, MeterRegistry registry, ConsumerSettings consumer, int workerThreads) {
    super(instanceId, registry, Clock.systemUTC(), consumer, workerThreads, "iotpipe-" + role.name() + "-worker-");
  }

  /** Where {@link #requestCommit()} goes once the role's consumer exists. */
  void onCommitRequest(Runnable r) {
    this.commitRequests = r;
  }

  @Override
  public void requestCommit() {
    commitRequests.run();
  }

  /** After the sink closed: lets the workers finish what they were given, then stops them. */
  void close(long timeoutMillis) {
    stopWorkers(timeoutMillis);
  }
}
