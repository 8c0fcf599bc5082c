package io.iotpipe.testkit.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * One pipeline of a lake scenario under load: the indexer and the storage writer in this process, the {@code lake} role
 * as a process of its own (what a fault kills, and whose {@code /health} says how it copes), a fleet publishing
 * throughout; at the end every sink is audited against the fleet's confirmed readings, the lake's table included.
 * The faults themselves are the scenario classes' ({@link LakeObjectStoreOutage}, {@link LakeCatalogDown},
 * {@link LakeKillDuringCommit}, {@link LakeRacingWriters}).
 */
final class LakeChaos implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  static final Role LAKE = Role.of("lake");
  static final int DEVICES = 100;

  final String prefix;
  final IotpipeConfig cfg;
  final Path cfgFile;
  final LocalStack stack;
  final double rate;
  private final PipelineRunner sinks;
  private final List<RoleProcess> lakes = new ArrayList<>();
  private final Simulation sim;
  private final CompletableFuture<SimulationResult> run;
  private SimulationResult result;

  /**
   * @param lakeEdit changes to the pipeline's generated {@code lake:} section (commit interval, catalog); see
   *                 {@link #commitEvery}
   */
  private LakeChaos(LocalStack stack, String prefix, double rate, Duration load, UnaryOperator<String> lakeEdit) throws IOException {
    this.stack = stack;
    this.prefix = prefix;
    this.rate = rate;
    this.cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml", lakeEdit);
    this.cfgFile = stack.dir().resolve(prefix + ".yaml");
    RoleProcess lake = new RoleProcess("lake", cfgFile, prefix + "-lake-a", stack.dir()).environment(stack.lakeEnvironment()).start();
    lakes.add(lake);
    this.sinks = new PipelineRunner(cfg, Set.of(Role.of("index"), Role.of("store")), prefix, new SimpleMeterRegistry()).start();
    this.sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(DEVICES, rate, load, 0)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP));
    this.run = ChaosScenarios.runAsync(sim, "chaos-sim-" + prefix);
  }

  /** Starts a pipeline (lake role process, indexer and store in process) and its fleet, and waits for the lake's first ack. */
  static LakeChaos start(LocalStack stack, double rate, Duration load, UnaryOperator<String> lakeEdit) throws Exception {
    LakeChaos c = open(stack, rate, load, lakeEdit);
    try {
      c.awaitStarted();
      return c;
    } catch (Exception | Error e) {
      c.close();
      throw e;
    }
  }

  /** Starts a pipeline and its fleet without waiting: scenarios that start two let their loads overlap. */
  static LakeChaos open(LocalStack stack, double rate, Duration load, UnaryOperator<String> lakeEdit) throws IOException {
    return new LakeChaos(stack, "x" + UUID.randomUUID().toString().substring(0, 6), rate, load, lakeEdit);
  }

  /** Waits for the fleet's first confirms and the lake role's first ack (its first commit). */
  void awaitStarted() throws InterruptedException {
    ChaosScenarios.waitFor(Duration.ofSeconds(60), ChaosScenarios.loadStarted(rate * 4), () -> sim.progress().confirmed() > rate * 4);
    ChaosScenarios.waitFor(Duration.ofSeconds(90), "the lake role's first commit (its first ack; see " + lake().log() + ")",
        () -> lake().delivered() > 0);
  }

  /** A {@code lake:} section edit: the runtime commits the table every {@code every} (default 5 s). */
  static UnaryOperator<String> commitEvery(Duration every) {
    return y -> y.replace("  table: iotpipe.telemetry\n", "  table: iotpipe.telemetry\n  commitInterval: " + every.toMillis() + "ms\n");
  }

  /** The lake role process (the first, when a scenario started more). */
  RoleProcess lake() {
    return lakes.getFirst();
  }

  /** Where this pipeline's table lives on the S3 server's disk: {@code blobs/<bucket>/<prefix>-lake}. */
  Path warehouse() {
    return stack.s3().blobs().resolve(LocalStack.LAKE_BUCKET).resolve(prefix + "-lake");
  }

  /** The lake's sink health in the role process's {@code /health}: {@code [status, reason]}; "unreachable" while it does not answer. */
  static String[] health(RoleProcess p) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/health"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      JsonNode lake = JSON.readTree(r.body()).path("sinks").path(LAKE.sink());
      return new String[] {lake.path("status").asText("missing"), lake.path("reason").asText("")};
    } catch (IOException e) {
      return new String[] {"unreachable", e.toString()};
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new String[] {"unreachable", "interrupted"};
    }
  }

  /**
   * What the lake role did while a dependency was away.
   *
   * @param before        the lake sink's health just before the fault (UP, or the outage's DEGRADED proves nothing)
   * @param polls         {@code /health} answers during the outage (one a second)
   * @param notUp         of those, how many said the lake sink is DEGRADED or DOWN
   * @param firstNotUp    seconds into the outage of the first such answer (NaN: never)
   * @param reason        the first non-UP answer's reason
   * @param ackedDuring   readings the lake role acked from 5 s into the outage to its end (an in-flight commit may
   *                      finish in the first seconds)
   * @param upAgainSeconds from the dependency's return until {@code /health} says UP again (NaN: not within 3 minutes)
   */
  record Outage(String before, int polls, int notUp, double firstNotUp, String reason, long ackedDuring, double upAgainSeconds) {

    String describe() {
      return String.format(java.util.Locale.ROOT, "/health: lake %s before the fault, DEGRADED %d of %d polls (first after %.1f s: \"%s\"), UP again %.1f s after"
          + " the return; acked during the outage %d", before, notUp, polls, firstNotUp, abbreviate(reason), upAgainSeconds, ackedDuring);
    }

    /**
     * @param handOffGoesOn whether the role can still hand readings off (stage them on the object store) during this
     *                      outage: then it must keep acking; else nothing may be acked
     */
    void check(List<String> failed, boolean handOffGoesOn) {
      if (!before.equals("UP")) {
        failed.add("/health said " + before + " before the fault: the outage's DEGRADED proves nothing");
      }
      if (notUp == 0) {
        failed.add("/health never said the lake sink was degraded during the outage");
      }
      if (!handOffGoesOn && ackedDuring > 0) {
        failed.add(ackedDuring + " readings acked while nothing could be made durable");
      }
      if (handOffGoesOn && ackedDuring == 0) {
        failed.add("no reading acked during the outage although the object store could take the hand-off");
      }
    }
  }

  @FunctionalInterface
  interface Step {
    void run() throws Exception;
  }

  /** Takes a dependency away ({@code down}) for {@code length}, watching the lake role's health and acks, then back ({@code up}). */
  Outage outage(Duration length, Step down, Step up) throws Exception {
    RoleProcess lake = lake();
    // a role still catching up after its start may be DEGRADED already: the fault begins on a healthy sink
    ChaosScenarios.waitFor(Duration.ofSeconds(90), "the lake sink UP on /health before the fault (see " + lake.log() + ")",
        () -> health(lake)[0].equals("UP"));
    String before = health(lake)[0];
    down.run();
    Instant start = Instant.now();
    int polls = 0;
    int notUp = 0;
    double first = Double.NaN;
    String reason = "";
    long ackedAtGrace = -1;
    while (Duration.between(start, Instant.now()).compareTo(length) < 0) {
      String[] h = health(lake);
      if (!h[0].equals("unreachable")) {
        polls++;
        if (!h[0].equals("UP")) {
          if (notUp++ == 0) {
            first = Duration.between(start, Instant.now()).toMillis() / 1000.0;
            reason = h[1];
          }
        }
      }
      if (ackedAtGrace < 0 && Duration.between(start, Instant.now()).toSeconds() >= 5) {
        ackedAtGrace = lake.delivered();
      }
      TimeUnit.SECONDS.sleep(1); // the health poll's interval
    }
    long ackedDuring = lake.delivered() - Math.max(0, ackedAtGrace);
    up.run();
    Instant back = Instant.now();
    double upAgain = Recovery.poll(back, Duration.ofMinutes(3), 500, () -> health(lake)[0].equals("UP"));
    return new Outage(before, polls, notUp, first, reason, ackedDuring, upAgain);
  }

  /** Seconds from {@code from} until the lake role acks beyond {@code before} (its /metrics), NaN after 2 minutes. */
  double firstAck(Instant from, long before) throws InterruptedException {
    return Recovery.poll(from, Duration.ofMinutes(2), 100, () -> lake().delivered() > before);
  }

  /** Seconds from {@code from} until the lake's queues hold at most one second of traffic, NaN after 4 minutes. */
  double caughtUp(Instant from) throws InterruptedException {
    long lag = Math.max(50, (long) rate) + (long) (rate * 2); // a commit interval's readings stay unacked normally
    return Recovery.poll(from, Duration.ofMinutes(4), 250, () -> Recovery.depth(stack, cfg, Set.of(LAKE)) <= lag);
  }

  /** A second lake role process of this pipeline (its own instance id). */
  RoleProcess addLake(RoleProcess p) {
    lakes.add(p);
    return p;
  }

  /** Waits for the fleet to finish its load. */
  SimulationResult finishLoad() throws Exception {
    if (result == null) {
      result = run.get(10, TimeUnit.MINUTES);
    }
    return result;
  }

  /** The sinks' audits of this pipeline's fleet, each until it converged. */
  record Audit(SimulationResult load, Completeness.Result search, Completeness.Result store, Completeness.Result lake, long deadLettered,
               long lakeDeadLettered) {
    long lost() {
      return search.lost() + store.lost() + lake.lost();
    }

    long duplicates() {
      return search.duplicates() + store.duplicates() + lake.duplicates();
    }
  }

  Audit audit(ChaosScenarios.LakeAudit lakeAudit) throws Exception {
    SimulationResult r = finishLoad();
    List<io.iotpipe.simulator.Ledger> ledger = List.of(sim.ledger());
    Completeness.Result es = ChaosScenarios.converged(ledger, l -> Auditor.search(cfg.indexer(), l));
    Completeness.Result st = ChaosScenarios.converged(ledger, l -> Auditor.store(cfg.storage().dir(), l));
    Completeness.Result lk = ChaosScenarios.converged(ledger, l -> lakeAudit.audit(cfg, l));
    long lakeDlq = stack.queueDepths().getOrDefault(cfg.topology().names().deadLetterQueue(LAKE.sink()), 0L);
    return new Audit(r, es, st, lk, ChaosScenarios.deadLettered(stack, cfg), lakeDlq);
  }

  /** The row of audited pipelines; the lake's figures go into the note, its losses and duplicates into the totals. */
  static ChaosScenarios.Row row(String scenario, List<Audit> audits, double firstAck, double caughtUp, String note, List<String> failed) {
    long published = 0;
    long confirmed = 0;
    long es = 0;
    long st = 0;
    long lk = 0;
    long lkLost = 0;
    long lkDups = 0;
    long dlq = 0;
    long lakeDlq = 0;
    long lost = 0;
    long dups = 0;
    for (Audit a : audits) {
      published += a.load().published();
      confirmed += a.load().confirmed();
      es += a.search().present();
      st += a.store().present();
      lk += a.lake().present();
      lkLost += a.lake().lost();
      lkDups += a.lake().duplicates();
      dlq += a.deadLettered();
      lakeDlq += a.lakeDeadLettered();
      lost += a.lost();
      dups += a.duplicates();
    }
    List<String> all = new ArrayList<>(failed);
    if (lakeDlq > 0) {
      all.add(lakeDlq + " healthy readings dead-lettered by the lake");
    }
    String full = note + "; in the lake's table " + lk + " (lost " + lkLost + ", duplicates " + lkDups + ")"
        + (all.isEmpty() ? "" : "; NOT as expected: " + String.join("; ", all));
    return new ChaosScenarios.Row(scenario, published, confirmed, es, st, dlq, 0, lost, dups, firstAck, caughtUp, full, "", 0, 0,
        String.join("; ", all));
  }

  /** Lines of a role process's log that match. */
  static long logLines(RoleProcess p, java.util.function.Predicate<String> match) {
    try (Stream<String> lines = Files.lines(p.log())) {
      return lines.filter(match).count();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + p.log(), e);
    }
  }

  private static String abbreviate(String s) {
    String one = s.replaceAll("\\s+", " ");
    return one.length() <= 140 ? one : one.substring(0, 137) + "...";
  }

  @Override
  public void close() {
    sim.stop();
    sim.close();
    sinks.close(Duration.ofSeconds(30));
    for (RoleProcess p : lakes) {
      try {
        // as an operator stops it: a clean exit also writes the class-data archive the next start maps
        if (!p.terminate(30)) {
          p.kill();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
