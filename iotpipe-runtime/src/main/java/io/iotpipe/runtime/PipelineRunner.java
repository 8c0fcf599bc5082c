package io.iotpipe.runtime;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.ContractMetrics;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.sink.ScheduledJob;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkPlugin;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
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

  private record Running(Role role, Sink sink, SinkConsumer consumer, RoleContext context) {}

  /** Upkeep jobs of the sinks (compaction, retention): one low-priority thread, never on the acking path. */
  private final ScheduledExecutorService jobs = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "iotpipe-jobs");
    t.setDaemon(true);
    t.setPriority(Thread.MIN_PRIORITY);
    return t;
  });

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
    perRole.forEach((role, cfg) -> add(cfg, role, perRole.size(), instanceId, registry));
  }

  private void add(IotpipeConfig cfg, Role role, int roleCount, String instanceId, MeterRegistry registry) {
    SinkPlugin plugin = role.plugin();
    Names names = cfg.topology().names();
    // the contract's decisions (unknown fields, clocks ahead, envelope versions) are counted per sink
    TelemetryCodec codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC(), new ContractMetrics(registry, plugin.sink()));
    if (!cfg.topology().sinks().contains(plugin.sink())) {
      throw new PipelineException("role " + role.name()
          + " needs the sink \"" + plugin.sink() + "\" in topology.sinks (configured: " + cfg.topology().sinks() + ")");
    }
    var layout = cfg.topology().layout();
    // streams: every sink group reads the same partition streams, under its own name (its stored positions)
    List<String> queues = IntStream.range(0, cfg.topology().partitions()).mapToObj(p ->
        layout == io.iotpipe.core.config.TopologyConfig.Layout.STREAMS ? names.partitionStream(p) : names.sinkQueue(plugin.sink(), p)).toList();
    // With WAN batching a message may be a whole batch: the heap bound counts the largest message, not a reading.
    var settings = fitToHeap(plugin.consumer(cfg), role.name(), roleCount, queues.size(),
        (int) Math.min(Integer.MAX_VALUE, cfg.topology().wan().largestMessage(cfg.contract().maxBytes())),
        Runtime.getRuntime().maxMemory());
    RoleContext ctx = new RoleContext(role, instanceId, registry, settings, plugin.workerThreads(cfg));
    Sink sink = plugin.create(cfg, ctx);
    io.iotpipe.core.tenant.TenantRegistry tenants = io.iotpipe.core.tenant.TenantsSection.registry(cfg);
    SinkConsumer consumer = new SinkConsumer(cfg.sinkBroker(), queues, sink, codec, settings, names, cfg.slo(), registry,
        plugin.commitTick(cfg), layout, cfg.batchPublisher(), tenants == null ? device -> null : tenants::tenantOf);
    ctx.onCommitRequest(consumer::requestCommit);
    for (ScheduledJob job : plugin.jobs(cfg, ctx)) {
      jobs.scheduleWithFixedDelay(() -> runJob(job, registry), job.first().toMillis(), job.every().toMillis(), TimeUnit.MILLISECONDS);
    }
    running.add(new Running(role, sink, consumer, ctx));
  }

  private static void runJob(ScheduledJob job, MeterRegistry registry) {
    try {
      job.task().run();
    } catch (Exception e) {
      registry.counter("iotpipe.job.failures", "job", job.name()).increment();
      org.slf4j.LoggerFactory.getLogger(PipelineRunner.class).warn("{} failed, next round in {}: {}", job.name(), job.every(), e.toString());
    }
  }

  /**
   * Bounds the bytes a role may hold unacked: RabbitMQ's prefetch counts messages only, so a fleet of large readings
   * (up to {@code contract.maxBytes} each) would hold prefetch x partitions x maxBytes — 320 MB for the store's
   * defaults with 16 KB readings, more than a 256 MB heap. Each role gets a quarter of the heap divided among the
   * roles of this process; the prefetch is lowered to fit the worst case when it would not. Big heaps keep the
   * configured prefetch.
   */
  static io.iotpipe.core.config.ConsumerSettings fitToHeap(io.iotpipe.core.config.ConsumerSettings settings, String role,
                                                           int roles, int queues, int maxMessageBytes, long maxHeap) {
    long share = maxHeap / 4 / Math.max(1, roles);
    long fits = share / ((long) Math.max(1, queues) * Math.max(1, maxMessageBytes));
    int prefetch = (int) Math.max(10, Math.min(settings.prefetch(), fits));
    if (prefetch < settings.prefetch()) {
      org.slf4j.LoggerFactory.getLogger(PipelineRunner.class).info(
          "{}: prefetch {} per partition instead of {}: {} partitions x {} bytes (contract.maxBytes) must fit {} MiB of a {} MiB heap",
          role, prefetch, settings.prefetch(), queues, maxMessageBytes, share >> 20, maxHeap >> 20);
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
    jobs.shutdownNow(); // an interrupted round is safe: upkeep is crash-safe and the next round finishes it
    // Roles stop in parallel on threads of their own: never on ForkJoinPool.commonPool, which the JDK's HttpClient
    // needs to finish the indexer's last bulks (blocking it stalled shutdown until the timeout).
    List<Thread> stoppers = new ArrayList<>();
    for (Running r : running) {
      stoppers.add(Thread.ofPlatform().name("stop-" + r.role().name()).start(() -> {
        r.consumer().close(timeout);
        r.sink().close();
        r.context().close(timeout.toMillis());
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
