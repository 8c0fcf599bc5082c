package io.iotpipe.testkit.chaos;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.capacity.CapacityPlanner;
import io.iotpipe.capacity.CapacityProfile;
import io.iotpipe.testkit.FaultyLink;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import io.iotpipe.runtime.HealthServer;
import io.iotpipe.testkit.LocalObservability;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The chaos scenarios: each runs a fleet against the whole pipeline on local nodes, injects one fault, lets the system
 * recover by itself, then audits both sinks against what the fleet had confirmed. A reading is lost when it was
 * confirmed to its device and is in neither its sink nor a dead-letter queue. Used by {@code iotpipe chaos} and by
 * the test suite.
 */
public final class ChaosScenarios {

  public static final List<String> ALL = List.of("indexer-kill9", "storage-kill9", "opensearch-down", "storage-unwritable",
      "wan-cut", "edge-buffer-full", "poison", "slow-es", "leader-kill", "region-outage", "rush-hour", "sink-lost",
      "wan-cut-planned", "spoofing", "firmware-rollout", "firmware-rollout-strict", "lake-object-store-outage", "lake-catalog-down",
      "lake-kill-during-commit", "lake-racing-writers", "cloud-partition");

  /** The scenarios about the lake (the Iceberg table): they run on a stack with an S3 API server ({@link LakeChaos}). */
  public static final List<String> LAKE = List.of("lake-object-store-outage", "lake-catalog-down", "lake-kill-during-commit",
      "lake-racing-writers");

  /**
   * Reads the lake's table back for a fleet's devices: the test kit sits below the lake module (whose tests use the kit),
   * so the caller that has the lake on its class path ({@code iotpipe chaos}) passes the product's lake audit in.
   */
  @FunctionalInterface
  public interface LakeAudit {
    Completeness.Result audit(IotpipeConfig cfg, Ledger ledger);
  }

  /**
   * One row of the result table.
   *
   * @param injected        bad messages published on purpose (poison), all expected in both dead-letter queues
   * @param firstAckSeconds from the end of the fault (restart, engine back, link healed) to the first message the
   *                        affected sink acked
   * @param caughtUpSeconds from the end of the fault until the affected sink's queues hold no more than one second
   *                        of traffic above their depth before the fault (a storage writer's open files keep readings
   *                        unacked in normal operation)
   * @param alerts          with a Prometheus watching: each burn-rate alert that fired, seconds after the fault began,
   *                        and when it resolved, seconds after the fault ended ("none fired"); empty when not watched
   * @param attackAttempts  spoofing: publishes the attacker tried
   * @param spoofedAccepted spoofing: forged readings the broker confirmed under a victim's key or that reached a sink (must be 0)
   * @param failed          what the scenario expected besides nothing lost or doubled and did not see (empty when all held)
   */
  public record Row(String scenario, long published, long confirmed, long inSearch, long inStore, long deadLettered,
                    long injected, long lost, long duplicates, double firstAckSeconds, double caughtUpSeconds, String note,
                    String alerts, long attackAttempts, long spoofedAccepted, String failed) {

    public Row(String scenario, long published, long confirmed, long inSearch, long inStore, long deadLettered, long injected, long lost,
               long duplicates, double firstAckSeconds, double caughtUpSeconds, String note) {
      this(scenario, published, confirmed, inSearch, inStore, deadLettered, injected, lost, duplicates, firstAckSeconds, caughtUpSeconds,
          note, "", 0, 0, "");
    }

    public Row(String scenario, long published, long confirmed, long inSearch, long inStore, long deadLettered, long injected, long lost,
               long duplicates, double firstAckSeconds, double caughtUpSeconds, String note, long attackAttempts, long spoofedAccepted) {
      this(scenario, published, confirmed, inSearch, inStore, deadLettered, injected, lost, duplicates, firstAckSeconds, caughtUpSeconds,
          note, "", attackAttempts, spoofedAccepted, "");
    }

    public boolean ok() {
      return lost == 0 && duplicates == 0 && spoofedAccepted == 0 && failed.isEmpty();
    }

    Row withAlerts(String a) {
      return new Row(scenario, published, confirmed, inSearch, inStore, deadLettered, injected, lost, duplicates, firstAckSeconds,
          caughtUpSeconds, note, a, attackAttempts, spoofedAccepted, failed);
    }
  }

  private final boolean quick;
  private final boolean observe;
  private final Consumer<String> log;
  private LakeAudit lakeAudit;

  /** @param quick shorter outages and load (the variant the test suite runs) */
  public ChaosScenarios(boolean quick, Consumer<String> log) {
    this(quick, false, log);
  }

  /**
   * @param observe a real Prometheus with the SLO rules watches every scenario (see {@link Watch}); each row then
   *                says which alerts fired and resolved when
   */
  public ChaosScenarios(boolean quick, boolean observe, Consumer<String> log) {
    this.quick = quick;
    this.observe = observe;
    this.log = log;
  }

  /** The audit of the lake's table, needed by the {@link #LAKE} scenarios. */
  public ChaosScenarios withLakeAudit(LakeAudit audit) {
    this.lakeAudit = audit;
    return this;
  }

  /** Runs one of the {@link #LAKE} scenarios on {@code stack}, which must have the lake (an S3 API server). */
  public Row lake(LocalStack stack, String name) throws Exception {
    if (stack.s3() == null || lakeAudit == null) {
      throw new IllegalStateException(name + " needs a stack with the lake (LocalStack.start(..., withLake true)) and a lake audit (withLakeAudit)");
    }
    return switch (name) {
      case "lake-object-store-outage" -> LakeObjectStoreOutage.run(stack, quick, lakeAudit, log);
      case "lake-catalog-down" -> LakeCatalogDown.run(stack, quick, lakeAudit, log);
      case "lake-kill-during-commit" -> LakeKillDuringCommit.run(stack, quick, lakeAudit, log);
      case "lake-racing-writers" -> LakeRacingWriters.run(stack, quick, lakeAudit, log);
      default -> throw new IllegalArgumentException("not a lake scenario: " + name);
    };
  }

  /**
   * A scenario's metrics and, when observing, the Prometheus watching them: in-process roles get a Prometheus
   * registry and a {@code /metrics} endpoint, role processes already have theirs. Real burn-rate windows, rules
   * evaluated every second, {@code for:} 10 s ({@link LocalObservability#CHAOS_RULES}).
   */
  final class Watch implements AutoCloseable {
    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<String> targets = new ArrayList<>();
    private final boolean on;
    private LocalObservability prometheus;

    Watch(boolean on) {
      this.on = on;
    }

    /** The registry for an in-process runner: Prometheus-scrapable when observing. */
    MeterRegistry registry() {
      return on ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : new SimpleMeterRegistry();
    }

    /** Serves a started runner's {@code /metrics} and {@code /health} for Prometheus (when observing). */
    PipelineRunner serve(PipelineRunner runner, MeterRegistry registry) throws java.io.IOException {
      if (on) {
        HealthServer h = new HealthServer("127.0.0.1", 0, runner, (PrometheusMeterRegistry) registry);
        open.add(h);
        targets.add("127.0.0.1:" + h.port());
      }
      return runner;
    }

    RoleProcess serve(RoleProcess p) {
      targets.add("127.0.0.1:" + p.port());
      return p;
    }

    /** Starts Prometheus once the roles serve load (their health scraped, then the rules loaded). */
    void start(LocalStack stack, IotpipeConfig cfg, String prefix) throws java.io.IOException, InterruptedException {
      if (on) {
        prometheus = LocalObservability.start(stack.dir().resolve(prefix + "-prometheus"), cfg, targets, List.of(), null,
            LocalObservability.CHAOS_RULES).pollEverySecond();
      }
    }

    LocalObservability prometheus() {
      return prometheus;
    }

    /** The row with the alerts of the fault window, or unchanged when not observed. */
    Row report(Row row, Instant faultStart, Instant faultEnd) {
      return prometheus == null ? row : row.withAlerts(prometheus.alertSummary(faultStart, faultEnd));
    }

    @Override
    public void close() {
      if (prometheus != null) {
        prometheus.close();
      }
      for (AutoCloseable c : open) {
        try {
          c.close();
        } catch (Exception e) {
          // stopping a metrics endpoint: nothing to save
        }
      }
    }
  }

  /**
   * A whole region lost: a second cloud cluster ({@code cloud-b}) holds the full topology with its own indexer and store
   * roles (writing into the same index and store); every node of the home cloud is killed under load, the failover
   * controller moves the edge's shovel to {@code cloud-b}, and back once home is healthy again. The note gives the
   * time from the kill to the first reading acked in the other region (failover) and from home's restart to the
   * first reading acked at home again (failback).
   */
  public Row regionOutage(LocalStack stack) throws Exception {
    log.accept("chaos: region-outage ... (starting a second region)");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    try (io.iotpipe.broker.LocalCluster regionB = io.iotpipe.broker.LocalCluster.start("cloudb-" + prefix, 1,
        stack.dir().resolve(prefix + "-region-b"))) {
      io.iotpipe.broker.LocalNode b = regionB.node(0);
      String brokerB = "  cloud-b:\n    uris: [" + b.amqpUri() + "]\n    management: " + b.managementUri() + "\n    region: us-east\n";
      IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml", y -> y
          .replaceFirst("(?m)^brokers:\n", "brokers:\n" + brokerB.replace("$", "\\$"))
          .replace("  queueType: quorum", "  queueType: quorum\n  failover: [cloud-b]"));
      IotpipeConfig inB = cfg.inRegion("cloud-b");
      io.iotpipe.topology.RegionFailover failover = new io.iotpipe.topology.RegionFailover(cfg, 2, 3);
      double rate = quick ? 200 : 300;
      Duration outage = quick ? Duration.ofSeconds(25) : Duration.ofSeconds(60);
      Duration load = outage.plusSeconds(quick ? 30 : 45);
      Watch watch = new Watch(observe);
      MeterRegistry homeMetrics = watch.registry();
      MeterRegistry awayMetrics = watch.registry();
      try (watch;
           PipelineRunner home = watch.serve(new PipelineRunner(cfg, Role.configured(cfg), prefix + "-a", homeMetrics).start(), homeMetrics);
           PipelineRunner away = watch.serve(new PipelineRunner(inB, Role.configured(inB), prefix + "-b", awayMetrics).start(), awayMetrics);
           Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(100, rate, load, 0)
               .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
        CompletableFuture<SimulationResult> simRun = runAsync(sim, "chaos-sim");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<String> moves = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread controller = Thread.ofPlatform().name("failover").daemon().start(() -> {
          while (!stop.get()) {
            var d = failover.step();
            if (d.moved()) {
              moves.add(d.region());
              log.accept("chaos: region-outage: " + d.reason());
            }
            try {
              TimeUnit.SECONDS.sleep(1); // the controller's probe interval
            } catch (InterruptedException e) {
              return;
            }
          }
        });
        try {
          waitFor(Duration.ofSeconds(60), loadStarted(rate * 4), () -> sim.progress().confirmed() > rate * 4);
          watch.start(stack, cfg, prefix);
          long awayBefore = delivered(away);
          Instant killed = Instant.now();
          for (var n : stack.brokers().cloud().nodes()) {
            n.kill();
          }
          waitFor(Duration.ofSeconds(90), "failover: a reading acked by region cloud-b's sinks after every home node was killed",
              () -> delivered(away) > awayBefore);
          double failoverSeconds = Duration.between(killed, Instant.now()).toMillis() / 1000.0;
          pause(outage.minus(Duration.between(killed, Instant.now())));
          for (var n : stack.brokers().cloud().nodes()) {
            n.start();
          }
          Instant restarted = Instant.now();
          waitFor(Duration.ofSeconds(120), "failback: the failover controller moving the edge shovel back to the home cloud once it is healthy",
              () -> "cloud".equals(failover.current()) && moves.size() >= 2);
          long homeAfterMove = delivered(home);
          waitFor(Duration.ofSeconds(120), "failback: a reading acked by the home region's sinks after the shovel moved home",
              () -> delivered(home) > homeAfterMove);
          double failbackSeconds = Duration.between(restarted, Instant.now()).toMillis() / 1000.0;
          SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
          Ledger ledger = sim.ledger();
          long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
          Completeness.Result es;
          Completeness.Result st;
          while (true) {
            es = Auditor.search(cfg.indexer(), ledger);
            st = Auditor.store(cfg.storage().dir(), ledger);
            if ((es.lost() == 0 && st.lost() == 0) || System.nanoTime() > deadline) {
              break;
            }
            pause(Duration.ofSeconds(2));
          }
          String note = "home cloud (every node) killed for " + outage.toSeconds() + " s under load; failover "
              + failoverSeconds + " s (kill -> first ack in cloud-b), failback " + failbackSeconds
              + " s (home restarted -> first ack at home); region b acked " + delivered(away) + " readings";
          return watch.report(new Row("region-outage", r.published(), r.confirmed(), es.present(), st.present(), deadLettered(stack, cfg), 0,
              es.lost() + st.lost(), es.duplicates() + st.duplicates(), failoverSeconds, failbackSeconds, note), killed, restarted);
        } finally {
          stop.set(true);
          controller.interrupt();
          sim.stop();
        }
      }
    }
  }

  /**
   * Rush hour: the sinks drain at most {@code C} readings a second each ({@code consumer.maxRate}, standing in for a
   * fleet that outgrows its workers); a normal load of C/3 runs throughout and a burst lifts the fleet to 3C for a
   * while. The queues must absorb the backlog (no nack reaches a device), then drain it at C − C/3. The note compares
   * the measured drain time with the planner's arithmetic: backlog / (capacity − normal rate).
   */
  public Row rushHour(LocalStack stack) throws Exception {
    log.accept("chaos: rush-hour ...");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    int capacity = quick ? 300 : 400;
    double normal = capacity / 3.0;
    // the drain takes three bursts ((3C - C) x burst / (C - C/3)): 10 s keep the short variant near a minute
    Duration burst = quick ? Duration.ofSeconds(10) : Duration.ofSeconds(60);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s\n  consumer: {maxRate: " + capacity + "}", prefix + ".yaml",
        y -> y.replace("  indexPrefix: " + prefix + "\n", "  indexPrefix: " + prefix + "\n  consumer: {maxRate: " + capacity + "}\n"));
    Duration lead = Duration.ofSeconds(10);
    Duration total = lead.plus(burst).plus(burst.multipliedBy(4)).plusSeconds(30);
    Watch watch = new Watch(observe);
    MeterRegistry metrics = watch.registry();
    try (watch;
         PipelineRunner runner = watch.serve(new PipelineRunner(cfg, Role.configured(cfg), prefix, metrics).start(), metrics);
         Simulation base = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(100, normal, total, 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP));
         Simulation rush = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(300, 3 * capacity - normal, burst, 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      CompletableFuture<SimulationResult> baseRun = runAsync(base, "chaos-sim");
      waitFor(Duration.ofSeconds(60), loadStarted(normal * 5), () -> base.progress().confirmed() > normal * 5);
      watch.start(stack, cfg, prefix);
      pause(lead);
      Instant burstStart = Instant.now();
      SimulationResult rushResult = rush.run(null);
      Instant burstEnd = Instant.now();
      long backlog = Recovery.depth(stack, cfg, Set.of(Role.of("index"), Role.of("store"))) / 2; // per sink
      double predicted = backlog / (capacity - normal);
      double drained = Recovery.poll(burstEnd, total, 500, () -> Recovery.depth(stack, cfg, Set.of(Role.of("index"), Role.of("store"))) <= 2L * capacity);
      base.stop();
      SimulationResult baseResult = baseRun.get(10, TimeUnit.MINUTES);
      long nacked = baseResult.nacked() + rushResult.nacked();
      Completeness.Result es = audit(cfg, List.of(base.ledger(), rush.ledger()), true);
      Completeness.Result st = audit(cfg, List.of(base.ledger(), rush.ledger()), false);
      double p99 = runner.consumers().get(Role.of("index")).latencyPercentile(0.99);
      if (nacked > 0) {
        log.accept("chaos: rush-hour: devices got " + nacked + " nacks: the queues did not absorb the burst");
      }
      String note = String.format(java.util.Locale.ROOT,
          "sinks capped at %d/s, normal %.0f/s, burst %.0f/s for %d s (%.1f s measured): backlog %d per sink, %d nacks; drained in %.1f s,"
              + " planner's backlog/(capacity-normal) = %.1f s (ratio %.2f); search latency p99 %.0f ms",
          capacity, normal, 3.0 * capacity, burst.toSeconds(), Duration.between(burstStart, burstEnd).toMillis() / 1000.0, backlog,
          nacked, drained, predicted, drained / predicted, p99);
      return watch.report(new Row("rush-hour", baseResult.published() + rushResult.published(), baseResult.confirmed() + rushResult.confirmed(),
          es.present(), st.present(), deadLettered(stack, cfg), 0, es.lost() + st.lost(), es.duplicates() + st.duplicates(),
          0, drained, note), burstStart, burstEnd);
    }
  }

  /**
   * A sink lost for longer than the page alert's short window, watched by a real Prometheus: the store role (its only
   * process) is killed under load and restarted after the outage. Prometheus scrapes both role processes every second
   * and evaluates the generated SLO rules with their real windows (30-day objective, 1 h / 5 m page at 14.4x); only
   * {@code for:} is shortened to 10 s so the scenario fits minutes, not hours. The note gives when the availability
   * page for storage fired and when it resolved (once the outage left the 5 m window), and which other alerts fired.
   */
  public Row sinkLost(LocalStack stack) throws Exception {
    log.accept("chaos: sink-lost ... (with Prometheus)");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml");
    Path cfgFile = stack.dir().resolve(prefix + ".yaml");
    Duration outage = quick ? Duration.ofSeconds(30) : Duration.ofSeconds(60);
    Watch watch = new Watch(true); // this scenario is about the alert: always watched
    RoleProcess index = watch.serve(new RoleProcess("index", cfgFile, prefix + "-index", stack.dir()).start());
    RoleProcess store = watch.serve(new RoleProcess("store", cfgFile, prefix + "-store", stack.dir()).start());
    Duration load = outage.plusMinutes(6).plusSeconds(30);
    try (watch;
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(50, 50, load, 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      CompletableFuture<SimulationResult> simRun = runAsync(sim, "chaos-sim");
      waitFor(Duration.ofSeconds(90), "the first reading acked by both role processes (index and store)",
          () -> index.delivered() > 0 && store.delivered() > 0);
      watch.start(stack, cfg, prefix);
      LocalObservability prom = watch.prometheus();
      pause(Duration.ofSeconds(15));
      if (!prom.alertSpans().isEmpty()) {
        log.accept("chaos: sink-lost: alerts before the fault: " + prom.alertSpans());
      }
      Map<String, String> page = Map.of("alertname", io.iotpipe.slo.SloMetrics.ALERT, "slo", "availability", "sink", "storage",
          "severity", "page", "long", "1h");
      Instant killed = Instant.now();
      store.kill();
      double fired = prom.awaitAlert(page, "firing", killed, Duration.ofMinutes(3));
      pause(outage.minus(Duration.between(killed, Instant.now())));
      store.start();
      Instant restarted = Instant.now();
      // The page resolves once the outage has left the 5-minute window (its ratio falls under 14.4x the budget rate).
      double resolved = prom.awaitAlert(page, "resolved", restarted, Duration.ofMinutes(8));
      sim.stop();
      SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
      Completeness.Result es = audit(cfg, List.of(sim.ledger()), true);
      Completeness.Result st = audit(cfg, List.of(sim.ledger()), false);
      String note = String.format(java.util.Locale.ROOT, "store role killed for %d s, Prometheus watching (real windows, for: 10s):"
              + " availability page fired %.0f s after the kill, resolved %.0f s after the restart", outage.toSeconds(), fired, resolved);
      return watch.report(new Row("sink-lost", r.published(), r.confirmed(), es.present(), st.present(), deadLettered(stack, cfg), 0,
          es.lost() + st.lost(), es.duplicates() + st.duplicates(), Double.NaN, Double.NaN, note), killed, restarted);
    } finally {
      index.kill();
      store.kill();
    }
  }

  /**
   * An attacker device (its own certificate) tries to pass readings off as other devices' under load, on the secured
   * stack (started beside {@code stack} when that one is plain): see {@link Spoofing}.
   */
  public Row spoofing(LocalStack stack) throws Exception {
    return Spoofing.run(stack, quick, log);
  }

  /**
   * A firmware rollout mid-run (extra top-level fields, {@code v: 2}, clocks ahead, days-old buffered readings) under the
   * default contract policies: see {@link FirmwareRollout}.
   */
  public Row firmwareRollout(LocalStack stack) throws Exception {
    return FirmwareRollout.run(stack, quick, false, log);
  }

  /** The same rollout under the {@code reject} policies: exactly the refused readings dead-lettered, with their reasons. */
  public Row firmwareRolloutStrict(LocalStack stack) throws Exception {
    return FirmwareRollout.run(stack, quick, true, log);
  }

  /**
   * One cloud node cut off from the others and from every client under load, then healed: see {@link CloudPartition}.
   * Needs a stack from {@link LocalStack#startPartitionable} with 3 cloud nodes.
   */
  public Row cloudPartition(LocalStack stack) throws Exception {
    return CloudPartition.run(stack, quick, log);
  }

  /** Runs a simulation on a thread of its own (never the common pool: the JDK HttpClient of the indexer needs it). */
  static CompletableFuture<SimulationResult> runAsync(Simulation sim, String name) {
    CompletableFuture<SimulationResult> f = new CompletableFuture<>();
    Thread.ofPlatform().name(name).daemon().start(() -> {
      try {
        f.complete(sim.run(null));
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
      }
    });
    return f;
  }

  /** Audits several fleets' ledgers (their devices differ) together, waiting up to 4 minutes for the sink to hold them all. */
  static Completeness.Result audit(IotpipeConfig cfg, List<Ledger> ledgers, boolean search) throws InterruptedException {
    return converged(ledgers, l -> search ? Auditor.search(cfg.indexer(), l) : Auditor.store(cfg.storage().dir(), l));
  }

  /**
   * Audits several fleets' ledgers with {@code sink}'s audit until nothing is lost (the last commits land) or 4 minutes
   * have passed: the one audit-until-converged loop of every scenario and sink.
   */
  static Completeness.Result converged(List<Ledger> ledgers, java.util.function.Function<Ledger, Completeness.Result> sink)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    while (true) {
      long expected = 0;
      long present = 0;
      long lost = 0;
      long dups = 0;
      for (Ledger l : ledgers) {
        Completeness.Result r = sink.apply(l);
        expected += r.expected();
        present += r.present();
        lost += r.lost();
        dups += r.duplicates();
      }
      if (lost == 0 || System.nanoTime() > deadline) {
        return new Completeness.Result(expected, present, lost, dups, 0, 0, List.of());
      }
      pause(Duration.ofSeconds(2));
    }
  }

  private static long delivered(PipelineRunner runner) {
    return runner.consumers().values().stream().mapToLong(c -> c.stats().delivered()).sum();
  }

  /** The sinks a scenario's fault hits: their recovery is what the table reports. */
  static Set<Role> affected(String scenario) {
    return switch (scenario) {
      case "indexer-kill9", "opensearch-down", "slow-es" -> Set.of(Role.of("index"));
      case "storage-kill9", "storage-unwritable" -> Set.of(Role.of("store"));
      default -> Set.of(Role.of("index"), Role.of("store"));
    };
  }

  Duration outage() {
    return quick ? Duration.ofSeconds(10) : Duration.ofSeconds(30);
  }

  /** Runs one scenario on a fresh pipeline (own queues, index and store) of the shared nodes. */
  public Row scenario(LocalStack stack, String name) throws Exception {
    return run(stack, name, null).row();
  }

  /** A scenario's row and what its devices saw: publishes the edge refused (its buffer full). */
  record Run(Row row, long nacked) {}

  /** Fleet size of {@link #scenario}. */
  static final int DEVICES = 100;

  /** The fleet's rate in {@link #scenario}, msg/s. */
  double rate() {
    return quick ? 300 : 500;
  }

  /**
   * The planner's edge buffer put to the test: {@code iotpipe plan} (reference profile) sizes the buffer that rides
   * through this scenario's WAN cut at its fleet's rate, then {@code wan-cut} runs with that buffer (expected: no
   * nacks) and with a quarter of it (expected: nacks, the devices feel back-pressure). The ride-through asked for is
   * the cut plus the shovel's reconnect delay: the buffer fills until the shovel is back, not until the link is.
   */
  public Row wanCutPlanned(LocalStack stack) throws Exception {
    Duration ride = wanCut().plus(stack.config().topology().shovelReconnectDelay());
    CapacityPlanner.Input in = new CapacityPlanner.Input(DEVICES, Duration.ofNanos(Math.round(DEVICES / rate() * 1e9)), 250, 1,
        Map.of("edge", 1.0), Duration.ofDays(1), 0, ride, CapacityPlanner.Protocol.AMQP, false, 2);
    CapacityPlanner.Line line = CapacityPlanner.plan(in, CapacityProfile.reference()).line("region.edge.site.edgeBufferMessages");
    long planned = Math.round(line.value());
    log.accept("chaos: wan-cut-planned: the planner's edge buffer for a " + ride.toSeconds() + " s ride-through at "
        + Math.round(rate()) + " msg/s: " + planned + " messages (" + line.how() + ")");
    Run full = run(stack, "wan-cut", planned);
    Run quarter = run(stack, "wan-cut", planned / 4);
    Row a = full.row();
    Row b = quarter.row();
    boolean asPlanned = full.nacked() == 0 && quarter.nacked() > 0;
    String note = String.format(java.util.Locale.ROOT, "WAN cut %d s at %.0f msg/s; planner: edge buffer %d = %s; with it: %d nacks;"
            + " with a quarter (%d): %d nacks -> %s", wanCut().toSeconds(), rate(), planned, line.how(), full.nacked(), planned / 4,
        quarter.nacked(), asPlanned ? "as planned" : "NOT as planned");
    String alerts = a.alerts().isEmpty() ? "" : "planned buffer: " + a.alerts() + " | quarter: " + b.alerts();
    return new Row("wan-cut-planned", a.published() + b.published(), a.confirmed() + b.confirmed(), a.inSearch() + b.inSearch(),
        a.inStore() + b.inStore(), a.deadLettered() + b.deadLettered(), 0, a.lost() + b.lost(), a.duplicates() + b.duplicates(),
        a.firstAckSeconds(), a.caughtUpSeconds(), note, alerts, 0, 0, "");
  }

  /** The WAN cut of {@code wan-cut}. */
  Duration wanCut() {
    return quick ? Duration.ofSeconds(15) : Duration.ofSeconds(60);
  }

  /** @param edgeBuffer wan-cut only: topology.edgeBuffer.maxMessages for the run (null: the default) */
  private Run run(LocalStack stack, String name, Long edgeBuffer) throws Exception {
    log.accept("chaos: " + name + (edgeBuffer != null ? " (edge buffer " + edgeBuffer + ")" : "") + " ...");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    FaultyLink wan = null;
    FaultyLink esLink = null;
    String storageYaml = "  rollAge: 3s";
    java.util.function.UnaryOperator<String> edit = y -> y;
    if (name.equals("wan-cut") || name.equals("edge-buffer-full")) {
      // Every AMQP connection to the cloud (the edge's shovel included) goes through a link we can cut.
      URI cloud = stack.config().broker("cloud").uris().get(0);
      wan = new FaultyLink(cloud.getHost(), cloud.getPort());
      String via = "amqp://127.0.0.1:" + wan.port();
      edit = y -> y.replace(cloud.toString(), via);
      Long buffer = name.equals("edge-buffer-full") ? Long.valueOf(2000) : edgeBuffer;
      if (buffer != null) {
        java.util.function.UnaryOperator<String> e0 = edit;
        edit = y -> e0.apply(y).replace("  queueType: quorum", "  queueType: quorum\n  edgeBuffer: {maxMessages: " + buffer + "}");
      }
    }
    if (name.equals("slow-es")) {
      URI es = stack.search().httpUri();
      esLink = new FaultyLink(es.getHost(), es.getPort());
      String via = "http://127.0.0.1:" + esLink.port();
      edit = y -> y.replace(es.toString(), via);
    }
    IotpipeConfig cfg = stack.pipeline(prefix, storageYaml, prefix + ".yaml", edit);
    Path cfgFile = stack.dir().resolve(prefix + ".yaml");
    boolean processes = name.endsWith("kill9");
    List<RoleProcess> instances = new ArrayList<>();
    PipelineRunner runner = null;
    Watch watch = new Watch(observe);
    if (processes) {
      instances.add(watch.serve(new RoleProcess("index", cfgFile, prefix + "-index", stack.dir()).start()));
      instances.add(watch.serve(new RoleProcess("store", cfgFile, prefix + "-store", stack.dir()).start()));
    } else {
      MeterRegistry metrics = watch.registry();
      runner = watch.serve(new PipelineRunner(cfg, Role.configured(cfg), prefix, metrics).start(), metrics);
    }
    int devices = DEVICES;
    double rate = rate();
    Duration load = quick ? Duration.ofSeconds(25) : Duration.ofSeconds(60);
    Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(devices, rate, load, 0)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP));
    CompletableFuture<SimulationResult> simRun = runAsync(sim, "chaos-sim");
    String note = "";
    long poisoned = 0;
    Instant faultEnd = null;
    Recovery recovery;
    try {
      waitFor(Duration.ofSeconds(60), loadStarted(rate * 4), () -> sim.progress().confirmed() > rate * 4);
      long steady = Recovery.steadyDepth(stack, cfg, affected(name));
      watch.start(stack, cfg, prefix);
      Instant faultStart = Instant.now();
      switch (name) {
        case "indexer-kill9", "storage-kill9" -> {
          RoleProcess victim = instances.get(name.startsWith("indexer") ? 0 : 1);
          victim.kill();
          pause(Duration.ofSeconds(5));
          victim.start();
          faultEnd = Instant.now();
          note = "kill -9 of the " + victim.role() + " process mid-batch, restarted after 5 s";
        }
        case "opensearch-down" -> {
          stack.search().kill();
          pause(outage());
          stack.search().start();
          note = "OpenSearch killed, back after " + outage().toSeconds() + " s";
        }
        case "storage-unwritable" -> {
          Path store = cfg.storage().dir();
          Path aside = store.resolveSibling(store.getFileName() + ".aside");
          Files.move(store, aside);
          Files.writeString(store, "not a directory"); // every write fails: ENOTDIR
          pause(outage());
          Files.delete(store);
          Files.move(aside, store);
          note = "store path unusable for " + outage().toSeconds() + " s";
        }
        case "wan-cut", "edge-buffer-full" -> {
          wan.cut();
          pause(name.equals("wan-cut") ? wanCut() : outage());
          wan.heal();
          note = name.equals("wan-cut") ? "edge <-> cloud link cut, the edge buffered"
              : "link cut with an edge buffer of 2000: devices got " + sim.progress().nacked() + " nacks (back-pressure)";
        }
        case "poison" -> {
          poisoned = poison(cfg, (long) (rate * load.toSeconds() / 100));
          note = poisoned + " poison messages (1%): malformed JSON, invalid UTF-8, oversized, missing fields, wrong types, absurd numbers, future/ancient ts";
        }
        case "slow-es" -> {
          esLink.delay(Duration.ofMillis(300));
          pause(outage());
          note = "300 ms added per chunk to/from OpenSearch for " + outage().toSeconds() + " s; storage lag meanwhile: see recover";
          esLink.delay(Duration.ZERO);
        }
        case "leader-kill" -> {
          var nodes = stack.brokers().cloud().nodes();
          var q = new io.iotpipe.topology.ManagementClient(cfg.broker("cloud")).get("queues/%2F/" + cfg.topology().names().sinkQueue("storage", 0));
          String leader = q.path("leader").asText(q.path("node").asText());
          var victim = nodes.stream().filter(n -> n.nodeName().equals(leader)).findFirst().orElse(nodes.get(0));
          victim.kill();
          pause(Duration.ofSeconds(10));
          victim.start();
          note = "kill -9 of " + victim.nodeName() + " (leader of " + cfg.topology().names().sinkQueue("storage", 0) + "), restarted after 10 s";
        }
        default -> throw new IllegalArgumentException(name);
      }
      if (!processes) {
        faultEnd = Instant.now();
      }
      recovery = Recovery.measure(faultEnd, affected(name), stack, cfg, runner, instances, rate, steady);
      SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
      Ledger ledger = sim.ledger();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
      Completeness.Result es;
      Completeness.Result st;
      while (true) {
        es = Auditor.search(cfg.indexer(), ledger);
        st = Auditor.store(cfg.storage().dir(), ledger);
        long dlq = deadLettered(stack, cfg);
        if ((es.lost() == 0 && st.lost() == 0 && dlq >= 2 * poisoned) || System.nanoTime() > deadline) {
          break;
        }
        pause(Duration.ofSeconds(2));
      }
      Row row = new Row(name, r.published() + poisoned, r.confirmed() + poisoned, es.present(), st.present(), deadLettered(stack, cfg),
          poisoned, es.lost() + st.lost(), es.duplicates() + st.duplicates(), recovery.firstAckSeconds(),
          recovery.caughtUpSeconds(), note);
      return new Run(watch.report(row, faultStart, faultEnd), r.nacked());
    } finally {
      watch.close();
      sim.stop();
      sim.close();
      if (runner != null) {
        runner.close(Duration.ofSeconds(30));
      }
      for (RoleProcess i : instances) {
        // Stopped as an operator stops them (the audit is done): a clean exit also leaves the class-data archive
        // that makes the next start of the role faster (see RoleProcess#classDataSharing).
        if (!i.terminate(30)) {
          i.kill();
        }
      }
      if (wan != null) {
        wan.close();
      }
      if (esLink != null) {
        esLink.close();
      }
    }
  }

  /** Messages in the dead-letter queues of every sink of the pipeline. */
  static long deadLettered(LocalStack stack, IotpipeConfig cfg) {
    Map<String, Long> d = stack.queueDepths();
    long n = 0;
    for (String sink : cfg.topology().sinks()) {
      n += d.getOrDefault(cfg.topology().names().deadLetterQueue(sink), 0L);
    }
    return n;
  }

  /** Publishes {@code n} bad messages of every kind to the edge, with confirms; returns how many were confirmed. */
  static long poison(IotpipeConfig cfg, long n) throws Exception {
    String now = Instant.now().toString();
    List<byte[]> kinds = List.of(
        "{not json".getBytes(StandardCharsets.UTF_8),
        new byte[] {'{', '"', 'd', 'e', 'v', 'i', 'c', 'e', 'I', 'd', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'},
        ("{\"v\":1,\"deviceId\":\"poison-big\",\"seq\":1,\"ts\":\"" + now + "\",\"metrics\":{},\"site\":\"" + "x".repeat(20_000) + "\"}").getBytes(StandardCharsets.UTF_8),
        ("{\"v\":1,\"deviceId\":\"poison-noseq\",\"ts\":\"" + now + "\",\"metrics\":{}}").getBytes(StandardCharsets.UTF_8),
        ("{\"v\":1,\"deviceId\":\"poison-type\",\"seq\":\"one\",\"ts\":\"" + now + "\",\"metrics\":{}}").getBytes(StandardCharsets.UTF_8),
        ("{\"v\":1,\"deviceId\":\"poison-absurd\",\"seq\":1,\"ts\":\"" + now + "\",\"metrics\":{\"powerKw\":1e300}}").getBytes(StandardCharsets.UTF_8),
        "{\"v\":1,\"deviceId\":\"poison-future\",\"seq\":1,\"ts\":\"2999-01-01T00:00:00Z\",\"metrics\":{}}".getBytes(StandardCharsets.UTF_8),
        "{\"v\":1,\"deviceId\":\"poison-ancient\",\"seq\":1,\"ts\":\"1970-01-01T00:00:00Z\",\"metrics\":{}}".getBytes(StandardCharsets.UTF_8));
    try (var c = Amqp.connect(cfg.broker("edge"), "chaos-poison"); var ch = c.createChannel()) {
      ch.confirmSelect();
      var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().deliveryMode(2).build();
      for (long i = 0; i < n; i++) {
        ch.basicPublish(cfg.topology().names().edgeIngress(), "telemetry.poison-" + i % 16, props, kinds.get((int) (i % kinds.size())));
      }
      ch.waitForConfirmsOrDie(30_000);
    }
    return n;
  }

  /** What the waits for a fleet's first confirms wait for, with the usual cause when they never come. */
  static String loadStarted(double confirms) {
    return String.format(java.util.Locale.ROOT, "the fleet's first %.0f confirmed readings (load did not start: is the topology applied?)", confirms);
  }

  /**
   * Polls {@code cond} until it holds; after {@code max} fails naming {@code what} it waited for, so that a failover
   * time-out does not read like a fleet that never started.
   */
  static void waitFor(Duration max, String what, BooleanSupplier cond) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException("chaos: gave up after " + max.toSeconds() + " s waiting for " + what);
      }
      TimeUnit.MILLISECONDS.sleep(200); // polling a progress counter
    }
  }

  /** The fault's duration: deliberate, not a wait for a condition. */
  static void pause(Duration d) throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(d.toMillis());
  }
}
