package io.iotpipe.testkit.chaos;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.runtime.audit.Auditor;
import io.iotpipe.runtime.audit.Completeness;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.FaultyLink;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
      "wan-cut", "edge-buffer-full", "poison", "slow-es", "leader-kill", "region-outage", "rush-hour", "sink-lost", "spoofing");

  /**
   * One row of the result table.
   *
   * @param injected        bad messages published on purpose (poison), all expected in both dead-letter queues
   * @param firstAckSeconds from the end of the fault (restart, engine back, link healed) to the first message the
   *                        affected sink acked
   * @param caughtUpSeconds from the end of the fault until the affected sink's queues hold no more than one second
   *                        of traffic above their depth before the fault (a storage writer's open files keep readings
   *                        unacked in normal operation)
   */
  public record Row(String scenario, long published, long confirmed, long inSearch, long inStore, long deadLettered,
                    long injected, long lost, long duplicates, double firstAckSeconds, double caughtUpSeconds, String note,
                    long attackAttempts, long spoofedAccepted) {

    /**
     * @param attackAttempts  spoofing: publishes the attacker tried
     * @param spoofedAccepted spoofing: forged readings the broker confirmed under a victim's key or that reached a sink (must be 0)
     */
    public Row(String scenario, long published, long confirmed, long inSearch, long inStore, long deadLettered, long injected, long lost,
               long duplicates, double firstAckSeconds, double caughtUpSeconds, String note) {
      this(scenario, published, confirmed, inSearch, inStore, deadLettered, injected, lost, duplicates, firstAckSeconds, caughtUpSeconds,
          note, 0, 0);
    }

    public boolean ok() {
      return lost == 0 && duplicates == 0 && spoofedAccepted == 0;
    }
  }

  private final boolean quick;
  private final Consumer<String> log;

  /** @param quick shorter outages and load (the variant the test suite runs) */
  public ChaosScenarios(boolean quick, Consumer<String> log) {
    this.quick = quick;
    this.log = log;
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
      try (PipelineRunner home = new PipelineRunner(cfg, EnumSet.allOf(Role.class), prefix + "-a", new SimpleMeterRegistry()).start();
           PipelineRunner away = new PipelineRunner(inB, EnumSet.allOf(Role.class), prefix + "-b", new SimpleMeterRegistry()).start();
           Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(100, rate, load, 0)
               .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP))) {
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
          waitFor(Duration.ofSeconds(60), () -> sim.progress().confirmed() > rate * 4);
          long awayBefore = delivered(away);
          Instant killed = Instant.now();
          for (var n : stack.brokers().cloud().nodes()) {
            n.kill();
          }
          waitFor(Duration.ofSeconds(90), () -> delivered(away) > awayBefore);
          double failoverSeconds = Duration.between(killed, Instant.now()).toMillis() / 1000.0;
          pause(outage.minus(Duration.between(killed, Instant.now())));
          for (var n : stack.brokers().cloud().nodes()) {
            n.start();
          }
          Instant restarted = Instant.now();
          waitFor(Duration.ofSeconds(120), () -> "cloud".equals(failover.current()) && moves.size() >= 2);
          long homeAfterMove = delivered(home);
          waitFor(Duration.ofSeconds(120), () -> delivered(home) > homeAfterMove);
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
          return new Row("region-outage", r.published(), r.confirmed(), es.present(), st.present(), deadLettered(stack, cfg), 0,
              es.lost() + st.lost(), es.duplicates() + st.duplicates(), failoverSeconds, failbackSeconds, note);
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
    Duration burst = quick ? Duration.ofSeconds(20) : Duration.ofSeconds(60);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s\n  consumer: {maxRate: " + capacity + "}", prefix + ".yaml",
        y -> y.replace("  indexPrefix: " + prefix + "\n", "  indexPrefix: " + prefix + "\n  consumer: {maxRate: " + capacity + "}\n"));
    Duration lead = Duration.ofSeconds(10);
    Duration total = lead.plus(burst).plus(burst.multipliedBy(4)).plusSeconds(30);
    try (PipelineRunner runner = new PipelineRunner(cfg, EnumSet.allOf(Role.class), prefix, new SimpleMeterRegistry()).start();
         Simulation base = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(100, normal, total, 0)
             .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP));
         Simulation rush = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(300, 3 * capacity - normal, burst, 0)
             .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP))) {
      CompletableFuture<SimulationResult> baseRun = runAsync(base, "chaos-sim");
      waitFor(Duration.ofSeconds(60), () -> base.progress().confirmed() > normal * 5);
      pause(lead);
      Instant burstStart = Instant.now();
      SimulationResult rushResult = rush.run(null);
      Instant burstEnd = Instant.now();
      long backlog = Recovery.depth(stack, cfg, Set.of(Role.INDEX, Role.STORE)) / 2; // per sink
      double predicted = backlog / (capacity - normal);
      double drained = Recovery.poll(burstEnd, total, 500, () -> Recovery.depth(stack, cfg, Set.of(Role.INDEX, Role.STORE)) <= 2L * capacity);
      base.stop();
      SimulationResult baseResult = baseRun.get(10, TimeUnit.MINUTES);
      long nacked = baseResult.nacked() + rushResult.nacked();
      Completeness.Result es = audit(cfg, List.of(base.ledger(), rush.ledger()), true);
      Completeness.Result st = audit(cfg, List.of(base.ledger(), rush.ledger()), false);
      double p99 = runner.consumers().get(Role.INDEX).latencyPercentile(0.99);
      if (nacked > 0) {
        log.accept("chaos: rush-hour: devices got " + nacked + " nacks: the queues did not absorb the burst");
      }
      String note = String.format(java.util.Locale.ROOT,
          "sinks capped at %d/s, normal %.0f/s, burst %.0f/s for %d s (%.1f s measured): backlog %d per sink, %d nacks; drained in %.1f s,"
              + " planner's backlog/(capacity-normal) = %.1f s (ratio %.2f); search latency p99 %.0f ms",
          capacity, normal, 3.0 * capacity, burst.toSeconds(), Duration.between(burstStart, burstEnd).toMillis() / 1000.0, backlog,
          nacked, drained, predicted, drained / predicted, p99);
      return new Row("rush-hour", baseResult.published() + rushResult.published(), baseResult.confirmed() + rushResult.confirmed(),
          es.present(), st.present(), deadLettered(stack, cfg), 0, es.lost() + st.lost(), es.duplicates() + st.duplicates(),
          0, drained, note);
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
    List<io.iotpipe.slo.Slos.Slo> slos = io.iotpipe.slo.Slos.of(cfg.slo(), cfg.topology().sinks());
    Path rules = stack.dir().resolve(prefix + "-slo.rules.yml");
    Files.writeString(rules, io.iotpipe.slo.rules.SloRules.yaml(slos, cfg.slo().window(),
        new io.iotpipe.slo.rules.SloRules.Options(Duration.ofSeconds(1), Duration.ofSeconds(10))));
    RoleProcess index = new RoleProcess("index", cfgFile, prefix + "-index", stack.dir()).start();
    RoleProcess store = new RoleProcess("store", cfgFile, prefix + "-store", stack.dir()).start();
    Duration load = outage.plusMinutes(6).plusSeconds(30);
    var jobs = List.of(new io.iotpipe.slo.prom.LocalPrometheus.Job("iotpipe", List.of("127.0.0.1:" + index.port(), "127.0.0.1:" + store.port())));
    try (var prom = io.iotpipe.slo.prom.LocalPrometheus.start(stack.dir().resolve(prefix + "-prometheus"), jobs, List.of(), Duration.ofSeconds(1));
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(50, 50, load, 0)
             .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP))) {
      var api = new io.iotpipe.slo.report.PrometheusApi(prom.url());
      var timeline = new io.iotpipe.slo.report.AlertTimeline(api::alerts);
      CompletableFuture<SimulationResult> simRun = runAsync(sim, "chaos-sim");
      waitFor(Duration.ofSeconds(90), () -> index.delivered() > 0 && store.delivered() > 0);
      // Rules go in once both roles' health has been scraped: a fresh server has no history, and "no health series"
      // would count as an outage of every sink.
      waitFor(Duration.ofSeconds(60), () -> {
        try {
          return api.query("count(" + io.iotpipe.slo.SloMetrics.PROM_SINK_HEALTH + ")").stream().anyMatch(x -> x.value() >= 2);
        } catch (java.io.IOException e) {
          return false;
        }
      });
      prom.reload(jobs, List.of(rules), Duration.ofSeconds(1));
      pause(Duration.ofSeconds(15));
      timeline.poll(Instant.now());
      if (!timeline.events().isEmpty()) {
        log.accept("chaos: sink-lost: alerts before the fault: " + timeline.events());
      }
      Map<String, String> page = Map.of("alertname", io.iotpipe.slo.SloMetrics.ALERT, "slo", "availability", "sink", "storage",
          "severity", "page", "long", "1h");
      Instant killed = Instant.now();
      store.kill();
      double fired = pollAlerts(timeline, killed, Duration.ofMinutes(3), () -> timeline.reached(page, "firing"));
      pause(outage.minus(Duration.between(killed, Instant.now())));
      store.start();
      Instant restarted = Instant.now();
      // The page resolves once the outage has left the 5-minute window (its ratio falls under 14.4x the budget rate).
      double resolved = pollAlerts(timeline, restarted, Duration.ofMinutes(8), () -> timeline.reached(page, "resolved"));
      sim.stop();
      SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
      Completeness.Result es = audit(cfg, List.of(sim.ledger()), true);
      Completeness.Result st = audit(cfg, List.of(sim.ledger()), false);
      java.util.Set<String> others = new java.util.TreeSet<>();
      timeline.events().stream().filter(e -> e.state().equals("firing"))
          .forEach(e -> others.add(e.labels().get("slo") + "/" + e.labels().get("sink") + " " + e.labels().get("severity")
              + " " + e.labels().get("long") + "/" + e.labels().get("short")));
      String note = String.format(java.util.Locale.ROOT, "store role killed for %d s, Prometheus watching (real windows, for: 10s):"
              + " availability page fired %.0f s after the kill, resolved %.0f s after the restart; alerts that fired: %s",
          outage.toSeconds(), fired, resolved, others);
      return new Row("sink-lost", r.published(), r.confirmed(), es.present(), st.present(), deadLettered(stack, cfg), 0,
          es.lost() + st.lost(), es.duplicates() + st.duplicates(), Double.NaN, Double.NaN, note);
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

  /** Polls Prometheus' alerts into the timeline until {@code done}; seconds since {@code from}, NaN when it did not happen. */
  private static double pollAlerts(io.iotpipe.slo.report.AlertTimeline timeline, Instant from, Duration max, BooleanSupplier done)
      throws InterruptedException {
    Instant end = from.plus(max);
    while (Instant.now().isBefore(end)) {
      try {
        timeline.poll(Instant.now());
      } catch (java.io.IOException e) {
        // Prometheus busy: the next poll sees the same state
      }
      if (done.getAsBoolean()) {
        return Duration.between(from, Instant.now()).toMillis() / 1000.0;
      }
      TimeUnit.MILLISECONDS.sleep(500); // polling interval of a measurement
    }
    return Double.NaN;
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
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    while (true) {
      long expected = 0;
      long present = 0;
      long lost = 0;
      long dups = 0;
      for (Ledger l : ledgers) {
        Completeness.Result r = search ? Auditor.search(cfg.indexer(), l) : Auditor.store(cfg.storage().dir(), l);
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
      case "indexer-kill9", "opensearch-down", "slow-es" -> Set.of(Role.INDEX);
      case "storage-kill9", "storage-unwritable" -> Set.of(Role.STORE);
      default -> Set.of(Role.INDEX, Role.STORE);
    };
  }

  Duration outage() {
    return quick ? Duration.ofSeconds(10) : Duration.ofSeconds(30);
  }

  /** Runs one scenario on a fresh pipeline (own queues, index and store) of the shared nodes. */
  public Row scenario(LocalStack stack, String name) throws Exception {
    log.accept("chaos: " + name + " ...");
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
      if (name.equals("edge-buffer-full")) {
        java.util.function.UnaryOperator<String> e0 = edit;
        edit = y -> e0.apply(y).replace("  queueType: quorum", "  queueType: quorum\n  edgeBuffer: {maxMessages: 2000}");
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
    if (processes) {
      instances.add(new RoleProcess("index", cfgFile, prefix + "-index", stack.dir()).start());
      instances.add(new RoleProcess("store", cfgFile, prefix + "-store", stack.dir()).start());
    } else {
      runner = new PipelineRunner(cfg, EnumSet.allOf(Role.class), prefix, new SimpleMeterRegistry()).start();
    }
    int devices = 100;
    double rate = quick ? 300 : 500;
    Duration load = quick ? Duration.ofSeconds(25) : Duration.ofSeconds(60);
    Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(devices, rate, load, 0)
        .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP));
    CompletableFuture<SimulationResult> simRun = runAsync(sim, "chaos-sim");
    String note = "";
    long poisoned = 0;
    Instant faultEnd = null;
    Recovery recovery;
    try {
      waitFor(Duration.ofSeconds(60), () -> sim.progress().confirmed() > rate * 4);
      long steady = Recovery.steadyDepth(stack, cfg, affected(name));
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
          pause(name.equals("wan-cut") ? (quick ? Duration.ofSeconds(15) : Duration.ofSeconds(60)) : outage());
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
      return new Row(name, r.published() + poisoned, r.confirmed() + poisoned, es.present(), st.present(), deadLettered(stack, cfg),
          poisoned, es.lost() + st.lost(), es.duplicates() + st.duplicates(), recovery.firstAckSeconds(),
          recovery.caughtUpSeconds(), note);
    } finally {
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

  /** Messages in both dead-letter queues. */
  static long deadLettered(LocalStack stack, IotpipeConfig cfg) {
    Map<String, Long> d = stack.queueDepths();
    return d.getOrDefault(cfg.topology().names().deadLetterQueue("elk"), 0L) + d.getOrDefault(cfg.topology().names().deadLetterQueue("storage"), 0L);
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

  static void waitFor(Duration max, BooleanSupplier cond) throws InterruptedException {
    long end = System.nanoTime() + max.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException("load did not start within " + max + ": is the topology applied?");
      }
      TimeUnit.MILLISECONDS.sleep(200); // polling a progress counter
    }
  }

  /** The fault's duration: deliberate, not a wait for a condition. */
  private static void pause(Duration d) throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(d.toMillis());
  }
}
