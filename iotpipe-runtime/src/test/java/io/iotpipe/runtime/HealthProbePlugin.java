package io.iotpipe.runtime;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.sink.SinkPlugin;
import io.iotpipe.sink.SinkRecord;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A sink for {@link HealthServerIT}, installed through {@code META-INF/services} of the test class path: it delivers
 * everything at once and reports the health {@link #alarm} says (standing in for a sink's own alarm, such as a
 * committed file that vanished). {@code degradedAfter} is 1 s, so "no broker for ten times that" takes 10 s.
 */
public final class HealthProbePlugin implements SinkPlugin {

  static volatile SinkHealth alarm = SinkHealth.UP;

  @Override
  public String role() {
    return "health-probe";
  }

  @Override
  public String sink() {
    return "hprobe";
  }

  @Override
  public String description() {
    return "a test sink whose own health the test sets";
  }

  @Override
  public ConsumerSettings consumer(IotpipeConfig cfg) {
    return new ConsumerSettings(100, 50, 1 << 20, Duration.ofMillis(20), new Backoff(Duration.ofMillis(100), Duration.ofMillis(500)),
        new RetryBudget(5, Duration.ofSeconds(30)), Duration.ofSeconds(1));
  }

  @Override
  public Sink create(IotpipeConfig cfg, SinkContext ctx) {
    return new Sink() {
      @Override
      public String name() {
        return "hprobe";
      }

      @Override
      public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
        return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.DELIVERED));
      }

      @Override
      public SinkHealth health() {
        return alarm;
      }

      @Override
      public void close() {}
    };
  }
}
