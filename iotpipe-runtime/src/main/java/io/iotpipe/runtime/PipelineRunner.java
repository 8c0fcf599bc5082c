package io.iotpipe.runtime;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.sink.Sink;
import io.iotpipe.runtime.consume.ConsumerStats;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Runs the sink roles of one process: for each role, its sink and a consumer over all of that sink's partition
 * queues. Several processes with the same role share the partitions: the queues are single-active-consumer, so
 * each partition is consumed by exactly one of them at a time and another takes over when it dies.
 */
public final class PipelineRunner implements AutoCloseable {

  private final List<Running> running = new ArrayList<>();
  private volatile boolean closed;

  private record Running(Role role, Sink sink, SinkConsumer consumer) {}

  public PipelineRunner(IotpipeConfig cfg, Set<Role> roles, String instanceId, MeterRegistry registry) {
    for (Role role : roles) {
      add(cfg, role, roles.size(), instanceId, registry);
    }
  }

  /**
   * Each role with a configuration of its own: the same pipeline, but each role connecting as its own broker account
   * (the secured stack gives the indexer and the storage writer least-privilege users).
   */
  public PipelineRunner(Map<Role, IotpipeConfig> perRole, String instanceId, MeterRegistry registry) {
    new java.util.EnumMap<>(perRole).forEach((role, cfg) -> add(cfg, role, perRole.size(), instanceId, registry));
  }

  private void add(IotpipeConfig cfg, Role role, int roleCount, String instanceId, MeterRegistry registry) {
    Names names = cfg.topology().names();
    TelemetryCodec codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC());
    if (!cfg.topology().sinks().contains(role.sink())) {
      throw new PipelineException("role " + role.name().toLowerCase()
          + " needs the sink \"" + role.sink() + "\" in topology.sinks (configured: " + cfg.topology().sinks() + ")");
    }
    List<String> queues = IntStream.range(0, cfg.topology().partitions()).mapToObj(p -> names.sinkQueue(role.sink(), p)).toList();
    var settings = fitToHeap(role == Role.INDEX ? cfg.indexer().consumer() : cfg.storage().consumer(), role,
        roleCount, queues.size(), cfg.contract().maxBytes(), Runtime.getRuntime().maxMemory());
    // The sink sizes its files from the prefetch really used (fitted to the heap), not the configured one.
    Sink sink = Sinks.create(role, cfg, settings, instanceId, registry);
    running.add(new Running(role, sink, new SinkConsumer(cfg.sinkBroker(), queues, sink, codec, settings, names, cfg.slo(), registry)));
  }

  /**
   * Bounds the bytes a role may hold unacked: RabbitMQ's prefetch counts messages only, so a fleet of large readings
   * (up to {@code contract.maxBytes} each) would hold prefetch x partitions x maxBytes — 320 MB for the store's
   * defaults with 16 KB readings, more than a 256 MB heap. Each role gets a quarter of the heap divided among the
   * roles of this process; the prefetch is lowered to fit the worst case when it would not. Big heaps keep the
   * configured prefetch.
   */
  static io.iotpipe.core.config.ConsumerSettings fitToHeap(io.iotpipe.core.config.ConsumerSettings settings, Role role,
                                                           int roles, int queues, int maxMessageBytes, long maxHeap) {
    long share = maxHeap / 4 / Math.max(1, roles);
    long fits = share / ((long) Math.max(1, queues) * Math.max(1, maxMessageBytes));
    int prefetch = (int) Math.max(10, Math.min(settings.prefetch(), fits));
    if (prefetch < settings.prefetch()) {
      org.slf4j.LoggerFactory.getLogger(PipelineRunner.class).info(
          "{}: prefetch {} per partition instead of {}: {} partitions x {} bytes (contract.maxBytes) must fit {} MiB of a {} MiB heap",
          role.sink(), prefetch, settings.prefetch(), queues, maxMessageBytes, share >> 20, maxHeap >> 20);
      return settings.withPrefetch(prefetch);
    }
    return settings;
  }

  public PipelineRunner start() {
    running.forEach(r -> r.consumer().start());
    return this;
  }

  public Map<Role, ConsumerStats> stats() {
    Map<Role, ConsumerStats> out = new LinkedHashMap<>();
    running.forEach(r -> out.put(r.role(), r.consumer().stats()));
    return out;
  }

  public Map<Role, SinkConsumer> consumers() {
    Map<Role, SinkConsumer> out = new LinkedHashMap<>();
    running.forEach(r -> out.put(r.role(), r.consumer()));
    return out;
  }

  public Set<Role> roles() {
    return running.stream().map(Running::role).collect(java.util.stream.Collectors.toCollection(java.util.LinkedHashSet::new));
  }

  /** Graceful stop: consumers stop taking messages, sinks flush, outcomes are acked, then everything closes. */
  public void close(Duration timeout) {
    if (closed) {
      return;
    }
    closed = true;
    // Roles stop in parallel on threads of their own: never on ForkJoinPool.commonPool, which the JDK's HttpClient
    // needs to finish the indexer's last bulks (blocking it stalled shutdown until the timeout).
    List<Thread> stoppers = new ArrayList<>();
    for (Running r : running) {
      stoppers.add(Thread.ofPlatform().name("stop-" + r.role().name().toLowerCase()).start(() -> {
        r.consumer().close(timeout);
        r.sink().close();
      }));
    }
    for (Thread t : stoppers) {
      try {
        t.join(timeout.toMillis() + 30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }
}
