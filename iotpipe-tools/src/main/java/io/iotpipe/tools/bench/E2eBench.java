package io.iotpipe.tools.bench;

import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.config.TopologyConfig;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One round of the end-to-end benchmark on a running {@link LocalStack}: a fresh pipeline (own queues, index and
 * store), the index and store roles as processes of their own, the fleet simulator in this JVM publishing with
 * confirms at a rate that ramps in steps until the pipeline no longer keeps up, then (optionally) a hold at half
 * the sustained rate and one at the sustained rate to measure latency and CPU there.
 */
final class E2eBench {

  /** Publish-to-ack latency histogram of the role processes (Micrometer "iotpipe.consumer.latency", ms). */
  static final String LATENCY = "iotpipe_consumer_latency_milliseconds";
  static final String DELIVERED = "iotpipe_consumer_delivered_total";
  static final String DEAD_LETTERED = "iotpipe_consumer_dead_lettered_total";
  static final String HEAP_PEAK = "iotpipe_jvm_heap_peak_bytes";
  /** The ramp halves its start rate when the first step fails, down to this. */
  static final double MIN_START = 50;

  /**
   * How a pipeline is laid out between the edge and the sinks: the three topologies {@code bench e2e --topology}
   * compares.
   */
  enum Topology {
    /** The seed's: a shovel moves each reading into the hash exchange, fanned out to one quorum queue per sink. */
    FANOUT(TopologyConfig.WanMode.SHOVEL, TopologyConfig.Layout.QUEUES),
    /** The forwarder carries batches of a partition's readings into the same fanout of quorum queues. */
    BATCH(TopologyConfig.WanMode.BATCH, TopologyConfig.Layout.QUEUES),
    /** The forwarder's batches into one stream per partition that both sink groups read (written once). */
    STREAMS(TopologyConfig.WanMode.BATCH, TopologyConfig.Layout.STREAMS);

    final TopologyConfig.WanMode wan;
    final TopologyConfig.Layout layout;

    Topology(TopologyConfig.WanMode wan, TopologyConfig.Layout layout) {
      this.wan = wan;
      this.layout = layout;
    }

    String id() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The pipeline's YAML with this topology (the seed's is the config's default). */
    String yaml(String yaml) {
      StringBuilder lines = new StringBuilder();
      if (wan == TopologyConfig.WanMode.BATCH) {
        lines.append("  wan: {mode: batch}\n");
      }
      if (layout == TopologyConfig.Layout.STREAMS) {
        lines.append("  layout: streams\n");
      }
      if (lines.isEmpty()) {
        return yaml;
      }
      String edited = yaml.replaceFirst("(?m)^topology:\n", "topology:\n" + lines);
      if (edited.equals(yaml)) {
        throw new IllegalStateException("no topology: section in the generated config to set " + id() + " in");
      }
      return edited;
    }
  }

  /**
   * @param rollAge  storage.rollAge of the pipeline: at low rates a file (and its acks) waits this long
   * @param topology how readings travel from the edge to the sinks
   */
  record Settings(int partitions, int instances, String xmx, double startRate, double factor, Duration step, int maxSteps,
                  int devices, Duration hold, Duration rollAge, Topology topology) {

    Settings(int partitions, int instances, String xmx, double startRate, double factor, Duration step, int maxSteps,
             int devices, Duration hold, Duration rollAge) {
      this(partitions, instances, xmx, startRate, factor, step, maxSteps, devices, hold, rollAge, Topology.FANOUT);
    }

    Settings with(Topology t) {
      return new Settings(partitions, instances, xmx, startRate, factor, step, maxSteps, devices, hold, rollAge, t);
    }
  }

  /** A measured interval: the ramp's view of it plus what it cost. */
  record Interval(Ramp.Step step, Ramp.Verdict verdict, long confirmed, Map<String, Double> cpuSeconds, double busy,
                  double ioWait) {

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("targetPerSec", Math.round(step.target()));
      m.put("achievedPerSec", Math.round(step.achieved()));
      m.put("verdict", verdict.name());
      m.put("confirmMs", round1(step.confirmMs()));
      m.put("indexLagGrowth", Ramp.floorGrowth(step.indexLag()));
      m.put("storeLagGrowth", Ramp.floorGrowth(step.storeLag()));
      m.put("machineBusyPct", Math.round(busy * 100));
      m.put("ioWaitPct", Math.round(ioWait * 100));
      Map<String, Object> cores = new LinkedHashMap<>();
      cpuSeconds.forEach((k, v) -> cores.put(k, round2(v / step.seconds())));
      m.put("coresUsed", cores);
      return m;
    }
  }

  /** The result of one round. */
  record Round(double sustained, List<Interval> steps, Ramp.Verdict endedBy, String limiter, Map<String, Object> atSustained,
               Map<String, Object> atHalf, Map<String, Double> cpuPer100k, Map<String, Long> peakHeapMiB, long parquetBytes,
               long storedRows) {}

  private final LocalStack stack;
  private final Output out;

  E2eBench(LocalStack stack, Output out) {
    this.stack = stack;
    this.out = out;
  }

  /** @param holds measure latency and CPU at half the sustained rate and at it (the scaling curve skips that) */
  Round round(String prefix, Settings s, boolean holds, String label) throws Exception {
    String file = prefix + ".yaml";
    IotpipeConfig cfg = stack.pipeline(prefix, s.partitions(), "  rollAge: " + s.rollAge().toMillis() + "ms", file, s.topology()::yaml);
    List<RoleProcess> index = new ArrayList<>();
    List<RoleProcess> store = new ArrayList<>();
    List<RoleProcess> forward = new ArrayList<>();
    try {
      if (s.topology().wan == TopologyConfig.WanMode.BATCH) {
        // One forwarder per edge, as deployed: it is the only reader of the edge buffer.
        forward.add(stack.forwarderProcess(cfg, prefix + "-forward").heap(s.xmx()).start());
      }
      for (int i = 1; i <= s.instances(); i++) {
        // Secured stack: each role as its own broker account (its config and password come from the stack).
        index.add(stack.roleProcess("index", cfg, prefix + "-index-" + i).heap(s.xmx()).start());
        store.add(stack.roleProcess("store", cfg, prefix + "-store-" + i).heap(s.xmx()).start());
      }
      awaitUp(index, store, forward);
      Pipeline p = new Pipeline(cfg, index, store, forward);
      List<Interval> steps = new ArrayList<>();
      List<Ramp.Verdict> verdicts = new ArrayList<>();
      double firstConfirm = Double.NaN;
      Ramp.Verdict endedBy = Ramp.Verdict.KEEPS_UP;
      double start = s.startRate();
      int i = 0;
      while (i < s.maxSteps()) {
        double target = Ramp.rate(start, s.factor(), i);
        Interval st = p.run(target, s, firstConfirm, String.format("%s step %d: %.0f/s", label, steps.size() + 1, target));
        out.info(String.format("%s step %d: target %.0f/s, achieved %.0f/s, confirm %.0f ms, busy %d %% -> %s", label, steps.size() + 1,
            target, st.step().achieved(), st.step().confirmMs(), Math.round(st.busy() * 100), st.verdict().text));
        if (i == 0 && st.verdict() != Ramp.Verdict.KEEPS_UP && start / 2 >= MIN_START) {
          // Not even the first step kept up (a busy machine): start lower rather than report nothing.
          start /= 2;
          out.info(String.format("%s: the first step did not keep up; starting again at %.0f/s", label, start));
          p.drain(label + " draining");
          continue;
        }
        steps.add(st);
        verdicts.add(st.verdict());
        if (i == 0) {
          firstConfirm = st.step().confirmMs();
        }
        if (st.verdict() != Ramp.Verdict.KEEPS_UP) {
          endedBy = st.verdict();
          break;
        }
        i++;
      }
      double sustained = Ramp.sustained(steps.stream().map(Interval::step).toList(), verdicts);
      Interval last = steps.get(steps.size() - 1);
      double brokerCores = Math.max(last.cpuSeconds().get("edgeBroker"), last.cpuSeconds().get("cloudBroker")) / last.step().seconds();
      String limiter = Limiter.classify(last.busy(), last.ioWait(), brokerCores, endedBy);
      Map<String, Object> atHalf = Map.of();
      Map<String, Object> atSustained = Map.of();
      Map<String, Double> cpuPer100k = Map.of();
      if (holds && sustained > 0) {
        p.drain(label + " draining the backlog of the last step");
        atHalf = p.hold(sustained / 2, s, label + " hold at half the sustained rate");
        atSustained = p.hold(sustained, s, label + " hold at the sustained rate");
        @SuppressWarnings("unchecked")
        Map<String, Double> c = (Map<String, Double>) atSustained.get("cpuSecondsPer100k");
        cpuPer100k = c;
      }
      Map<String, Long> heap = new LinkedHashMap<>();
      heap.put("indexer", peakHeap(index) >> 20);
      heap.put("store", peakHeap(store) >> 20);
      heap.put("forwarder", peakHeap(forward) >> 20);
      long bytes = 0;
      Path storeDir = stack.dir().resolve(prefix + "-store");
      if (Files.isDirectory(storeDir)) {
        for (Path f : io.iotpipe.storage.StorageSink.dataFiles(storeDir, "parquet")) {
          bytes += Files.size(f);
        }
      }
      return new Round(sustained, steps, endedBy, limiter, atSustained, atHalf, cpuPer100k, heap, bytes, p.settled(store));
    } finally {
      for (RoleProcess r : index) {
        r.kill();
      }
      for (RoleProcess r : store) {
        r.kill();
      }
      for (RoleProcess r : forward) {
        r.kill();
      }
    }
  }

  private void awaitUp(List<RoleProcess> index, List<RoleProcess> store, List<RoleProcess> forward) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    List<RoleProcess> all = new ArrayList<>(index);
    all.addAll(store);
    all.addAll(forward);
    for (RoleProcess r : all) {
      while (r.scrape().isEmpty()) {
        if (!r.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("role process " + r.role() + " did not come up; see its log " + r.log());
        }
        out.progress("waiting for the role processes to start ...");
        TimeUnit.MILLISECONDS.sleep(250); // polling a child process's metrics endpoint
      }
    }
    out.endProgress();
  }

  static long peakHeap(List<RoleProcess> ps) {
    long max = 0;
    for (RoleProcess r : ps) {
      max = Math.max(max, (long) PromText.sum(r.scrape(), HEAP_PEAK, Map.of()));
    }
    return max;
  }

  /** The processes of one pipeline and the running totals the ramp needs. */
  private final class Pipeline {
    final IotpipeConfig cfg;
    final List<RoleProcess> index;
    final List<RoleProcess> store;
    final List<RoleProcess> forward;
    long confirmed; // readings confirmed by the edge over the whole round

    Pipeline(IotpipeConfig cfg, List<RoleProcess> index, List<RoleProcess> store, List<RoleProcess> forward) {
      this.cfg = cfg;
      this.index = index;
      this.store = store;
      this.forward = forward;
    }

    /** Readings a role settled (delivered or dead-lettered: either way no longer in its queues). */
    long settled(List<RoleProcess> role) {
      long n = 0;
      for (RoleProcess r : role) {
        List<String> page = r.scrape();
        n += (long) (PromText.sum(page, DELIVERED, Map.of()) + PromText.sum(page, DEAD_LETTERED, Map.of()));
      }
      return n;
    }

    Map<String, Double> cpu() {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("simulator", CpuMeter.ownSeconds());
      m.put("edgeBroker", CpuMeter.processSeconds(stack.brokers().edge().pid()));
      m.put("cloudBroker", CpuMeter.processSeconds(stack.brokers().cloud().node(0).pid()));
      m.put("indexer", index.stream().mapToDouble(r -> CpuMeter.processSeconds(r.pid())).sum());
      m.put("store", store.stream().mapToDouble(r -> CpuMeter.processSeconds(r.pid())).sum());
      m.put("forwarder", forward.stream().mapToDouble(r -> CpuMeter.processSeconds(r.pid())).sum());
      m.put("searchEngine", stack.search() == null ? 0 : CpuMeter.processSeconds(stack.search().pid()));
      return m;
    }

    /** Publishes at {@code target} readings/s for one step and judges it. */
    Interval run(double target, Settings s, double firstConfirm, String label) throws Exception {
      return run(target, s.step(), s, firstConfirm, label);
    }

    Interval run(double target, Duration length, Settings s, double firstConfirm, String label) throws Exception {
      var sc = cfg.simulator();
      // Secured stack: the step's fleet is enrolled first and each device connects with its own certificate over TLS
      // (before the CPU meters start: enrolment and connection set-up are not part of the step's cost).
      Simulation sim = stack.simulation(cfg, new Simulation.Options(s.devices(), target, length, 0, SimulatorConfig.LoadShape.FLAT,
          SimulatorConfig.Protocol.AMQP, sc.maxInFlight(), sc.regions(), UUID.randomUUID().toString().substring(0, 6),
          Duration.ofSeconds(10), System.nanoTime()), null);
      Map<String, Double> cpu0 = cpu();
      CpuMeter.MachineTicks m0 = CpuMeter.machineTicks();
      CompletableFuture<SimulationResult> done = CompletableFuture.supplyAsync(() -> sim.run(null), r -> Thread.ofPlatform().name("bench-sim").start(r));
      List<Long> indexLag = new ArrayList<>();
      List<Long> storeLag = new ArrayList<>();
      List<Long> inFlight = new ArrayList<>();
      List<long[]> counts = new ArrayList<>(); // {nanos, confirmed} per sample while generating
      try {
        while (!done.isDone()) {
          TimeUnit.SECONDS.sleep(1); // one sample a second: the ramp's clock, not a wait for a condition
          var pr = sim.progress();
          if (!pr.generating()) {
            continue; // the drain of the last confirms: not part of the step
          }
          counts.add(new long[] {System.nanoTime(), pr.confirmed()});
          long c = confirmed + pr.confirmed();
          indexLag.add(c - settled(index));
          storeLag.add(c - settled(store));
          inFlight.add(pr.inFlight());
          out.progress(String.format("%s: confirmed %d, lag index %d / store %d, in flight %d", label, pr.confirmed(),
              indexLag.getLast(), storeLag.getLast(), pr.inFlight()));
        }
      } finally {
        sim.stop();
      }
      SimulationResult res = done.get();
      sim.close();
      out.endProgress();
      Map<String, Double> cpu1 = cpu();
      double[] shares = CpuMeter.machineTicks().sharesSince(m0);
      confirmed += res.confirmed();
      double seconds = length.toNanos() / 1e9;
      // The rate over the second half of the step: each step is a fresh fleet whose devices first save up credit for
      // their first reading (devices / rate seconds), and the drain of the last confirms is not the steady state either.
      double achieved = res.confirmed() / Math.max(seconds, res.seconds());
      if (counts.size() >= 3) {
        long[] mid = counts.get(counts.size() / 2);
        long[] end = counts.getLast();
        if (end[0] - mid[0] >= 1e9) {
          achieved = (end[1] - mid[1]) / ((end[0] - mid[0]) / 1e9);
        }
      }
      double meanInFlight = inFlight.subList(inFlight.size() / 2, inFlight.size()).stream().mapToLong(Long::longValue).average().orElse(0);
      double confirmMs = achieved > 0 ? meanInFlight / achieved * 1000 : Double.NaN;
      Ramp.Step step = new Ramp.Step(target, achieved, seconds, indexLag, storeLag, confirmMs);
      Map<String, Double> used = new LinkedHashMap<>();
      cpu1.forEach((k, v) -> used.put(k, v - cpu0.get(k)));
      return new Interval(step, Ramp.judge(step, firstConfirm), res.confirmed(), used, shares[0], shares[1]);
    }

    /** Waits until both roles settled every confirmed reading (the store's last file waits for its roll age). */
    void drain(String label) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (true) {
        long li = confirmed - settled(index);
        long ls = confirmed - settled(store);
        if (li <= 0 && ls <= 0) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(label + ": the roles did not catch up within 3 minutes (index lag " + li + ", store lag "
              + ls + "); see the role logs in " + stack.dir());
        }
        out.progress(String.format("%s: index lag %d, store lag %d", label, li, ls));
        TimeUnit.MILLISECONDS.sleep(200); // polling the role processes' counters
      }
      out.endProgress();
    }

    TreeMap<Double, Double> latency(List<RoleProcess> role) {
      TreeMap<Double, Double> sum = new TreeMap<>();
      for (RoleProcess r : role) {
        PromText.buckets(r.scrape(), LATENCY, Map.of()).forEach((k, v) -> sum.merge(k, v, Double::sum));
      }
      return sum;
    }

    /**
     * Holds {@code rate} for one step length, waits until everything is settled, and reports the publish-to-ack
     * latency of the readings of the hold (histogram difference) and the CPU per 100k readings of every process.
     */
    Map<String, Object> hold(double rate, Settings s, String label) throws Exception {
      TreeMap<Double, Double> i0 = latency(index);
      TreeMap<Double, Double> s0 = latency(store);
      Duration length = s.hold();
      Map<String, Double> cpu0 = cpu();
      Interval iv;
      Map<String, Object> searchable;
      SearchProbe probe = new SearchProbe(cfg);
      try {
        iv = run(rate, length, s, Double.NaN, label);
      } finally {
        searchable = probe.finish();
        confirmed += probe.published();
      }
      drain(label);
      Map<String, Double> cpu1 = cpu();
      TreeMap<Double, Double> di = PromText.minus(latency(index), i0);
      TreeMap<Double, Double> ds = PromText.minus(latency(store), s0);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("targetPerSec", Math.round(rate));
      m.put("achievedPerSec", Math.round(iv.step().achieved()));
      m.put("verdict", iv.verdict().name());
      m.put("deviceToIndexedMs", Map.of("p50", round1(PromText.quantile(di, 0.5)), "p99", round1(PromText.quantile(di, 0.99))));
      m.put("deviceToSearchableMs", searchable);
      m.put("deviceToFileMs", Map.of("p50", round1(PromText.quantile(ds, 0.5)), "p99", round1(PromText.quantile(ds, 0.99))));
      Map<String, Double> per100k = new LinkedHashMap<>();
      double total = 0;
      for (var e : cpu1.entrySet()) {
        double v = (e.getValue() - cpu0.get(e.getKey())) / Math.max(1, iv.confirmed()) * 100_000;
        per100k.put(e.getKey(), round2(v));
        total += v;
      }
      per100k.put("total", round2(total));
      m.put("cpuSecondsPer100k", per100k);
      out.info(String.format("%s: %.0f/s achieved; device->indexed p50/p99 %s/%s ms, device->searchable p50/p99 %s/%s ms (%s probes),"
          + " device->file p50/p99 %s/%s ms; CPU s/100k %s",
          label, iv.step().achieved(), round1(PromText.quantile(di, 0.5)), round1(PromText.quantile(di, 0.99)),
          searchable.get("p50"), searchable.get("p99"), searchable.get("probes"),
          round1(PromText.quantile(ds, 0.5)), round1(PromText.quantile(ds, 0.99)), per100k));
      return m;
    }
  }

  static double round1(double x) {
    return Double.isNaN(x) ? Double.NaN : Math.round(x * 10) / 10.0;
  }

  static double round2(double x) {
    return Double.isNaN(x) ? Double.NaN : Math.round(x * 100) / 100.0;
  }

  /** Size in bytes of one encoded reading as the sinks receive it (for the same-size PerfTest baseline). */
  static int messageBytes(IotpipeConfig cfg) throws IOException {
    var codec = new io.iotpipe.core.envelope.TelemetryCodec(cfg.contract(), java.time.Clock.systemUTC());
    var rows = BenchCommand.rows(100);
    long total = 0;
    for (var r : rows) {
      total += codec.encode(r).length;
    }
    return (int) (total / rows.size());
  }
}
