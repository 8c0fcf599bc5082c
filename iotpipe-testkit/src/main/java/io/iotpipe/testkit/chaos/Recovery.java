package io.iotpipe.testkit.chaos;

import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * How fast the hit sinks came back after a fault, split in the two figures an operator asks about: when the first
 * message was acked again (restart, reconnect, resubscribe, single-active-consumer handover), and when the backlog was
 * gone (catch-up rate). Queue depths come from {@code rabbitmqctl} (exact); the management API lags by seconds.
 */
record Recovery(double firstAckSeconds, double caughtUpSeconds) {

  /**
   * @param steady the hit sinks' queue depth under the same load before the fault ({@link #steadyDepth}): "caught up"
   *               means back to it (plus one second of traffic), not to zero — a storage writer holds a file's worth
   *               of unacked readings in normal operation (rollAge x rate), which alone can exceed one second of traffic
   */
  static Recovery measure(Instant faultEnd, Set<Role> hit, LocalStack stack, IotpipeConfig cfg, PipelineRunner runner,
                          List<RoleProcess> processes, double rate, long steady) throws InterruptedException {
    LongSupplier acked = () -> {
      long n = 0;
      for (Role r : hit) {
        if (runner != null) {
          n += runner.consumers().get(r).stats().delivered();
        } else {
          RoleProcess p = processes.get(r == Role.of("index") ? 0 : 1);
          n += p.delivered();
        }
      }
      return n;
    };
    long before = runner != null ? acked.getAsLong() : 0; // a restarted process counts from zero
    double firstAck = poll(faultEnd, Duration.ofMinutes(2), 100, () -> acked.getAsLong() > before);
    long lag = steady + Math.max(50, (long) rate); // steady state plus one second of traffic
    double caughtUp = poll(faultEnd, Duration.ofMinutes(4), 250, () -> depth(stack, cfg, hit) <= lag);
    return new Recovery(firstAck, caughtUp);
  }

  /**
   * The hit sinks' queue depth (ready + unacked) in steady state: the largest of a few samples about a second apart
   * (each {@code rabbitmqctl} call takes about that long), before the fault.
   */
  static long steadyDepth(LocalStack stack, IotpipeConfig cfg, Set<Role> hit) {
    long max = 0;
    for (int i = 0; i < 3; i++) {
      long d = depth(stack, cfg, hit);
      if (d != Long.MAX_VALUE) {
        max = Math.max(max, d);
      }
    }
    return max;
  }

  /** Seconds from {@code from} until {@code done}; NaN when it did not happen within {@code max}. */
  static double poll(Instant from, Duration max, long everyMillis, java.util.function.BooleanSupplier done)
      throws InterruptedException {
    Instant end = from.plus(max);
    while (Instant.now().isBefore(end)) {
      if (done.getAsBoolean()) {
        return Duration.between(from, Instant.now()).toMillis() / 1000.0;
      }
      TimeUnit.MILLISECONDS.sleep(everyMillis); // polling interval of a measurement
    }
    return Double.NaN;
  }

  /** Messages waiting in the hit sinks' partition queues, from any running cloud node; MAX_VALUE when none answers. */
  static long depth(LocalStack stack, IotpipeConfig cfg, Set<Role> hit) {
    for (LocalNode node : stack.brokers().cloud().nodes()) {
      if (!node.isRunning()) {
        continue;
      }
      try {
        Map<String, Long> d = node.queueDepths();
        long n = 0;
        for (Role r : hit) {
          for (int p = 0; p < cfg.topology().partitions(); p++) {
            n += d.getOrDefault(cfg.topology().names().sinkQueue(r.sink(), p), 0L);
          }
        }
        return n;
      } catch (RuntimeException e) {
        // node restarting: ask the next one
      }
    }
    return Long.MAX_VALUE;
  }
}
