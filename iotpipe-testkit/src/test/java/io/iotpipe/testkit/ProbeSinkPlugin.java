package io.iotpipe.testkit;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.core.retry.RetryBudget;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.SinkPlugin;
import io.iotpipe.sink.SinkRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A sink the framework has never heard of, registered only through {@code META-INF/services} of the test class path:
 * it holds written records until the runtime's commit clock ticks, then "stores" them and completes their stages.
 * Every lifecycle call is recorded for {@link PluginLifecycleIT}.
 */
public final class ProbeSinkPlugin implements SinkPlugin {

  static final Duration TICK = Duration.ofMillis(300);
  /** What the last sink created did, in order (open:q, commit, close:q, flush, close). */
  static final List<String> CALLS = new CopyOnWriteArrayList<>();
  /** Stored (deviceId:seq) -> times stored. */
  static final Map<String, Integer> STORED = new ConcurrentHashMap<>();
  static final Set<String> THREADS = ConcurrentHashMap.newKeySet();

  @Override
  public String role() {
    return "probe";
  }

  @Override
  public String sink() {
    return "probe";
  }

  @Override
  public String description() {
    return "a test sink";
  }

  @Override
  public ConsumerSettings consumer(IotpipeConfig cfg) {
    return new ConsumerSettings(100, 50, 1 << 20, Duration.ofMillis(20), new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1)),
        new RetryBudget(5, Duration.ofSeconds(30)), Duration.ofSeconds(5));
  }

  @Override
  public Duration commitTick(IotpipeConfig cfg) {
    return TICK;
  }

  @Override
  public Sink create(IotpipeConfig cfg, SinkContext ctx) {
    CALLS.add("create:" + ctx.instanceId());
    return new Probe();
  }

  private static final class Probe implements Sink {
    private record Held(SinkRecord record, CompletableFuture<Outcome> outcome) {}

    private final List<Held> held = new ArrayList<>();

    @Override
    public String name() {
      return "probe";
    }

    @Override
    public void open(String partition) {
      CALLS.add("open:" + partition);
    }

    @Override
    public synchronized CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
      List<CompletableFuture<Outcome>> outs = new ArrayList<>();
      for (SinkRecord r : batch) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        held.add(new Held(r, f));
        outs.add(f);
      }
      return CompletableFuture.allOf(outs.toArray(CompletableFuture[]::new)).thenApply(v -> outs.stream().map(CompletableFuture::join).toList());
    }

    @Override
    public synchronized void commit() {
      THREADS.add(Thread.currentThread().getName());
      if (held.isEmpty()) {
        return;
      }
      CALLS.add("commit");
      for (Held h : held) {
        STORED.merge(h.record().telemetry().deviceId() + ":" + h.record().telemetry().seq(), 1, Integer::sum);
        h.outcome().complete(Outcome.DELIVERED);
      }
      held.clear();
    }

    @Override
    public void flush() {
      CALLS.add("flush");
      commit();
    }

    @Override
    public synchronized void close(String partition) {
      CALLS.add("close:" + partition);
    }

    @Override
    public void close() {
      CALLS.add("close");
    }
  }
}
