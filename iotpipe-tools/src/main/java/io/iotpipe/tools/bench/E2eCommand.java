package io.iotpipe.tools.bench;

import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.Output;
import io.iotpipe.testkit.LocalStack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe bench e2e}: what a user runs, measured whole. Devices publish with confirms to the edge; the shovel
 * carries readings to the cloud node, the consistent hash spreads them over partitions, the fanout feeds the indexer
 * and the storage writer (each a process of its own, heap-capped), OpenSearch indexes them; all on this machine.
 * The rate ramps until the pipeline no longer keeps up. RabbitMQ's PerfTest on one quorum queue of the same cloud
 * node, same message size, confirms and acks, is the baseline measured in the same run.
 *
 * <p>Secure by default (TLS on every link, each device its own certificate and connection, each role its own
 * account); {@code --insecure} measures the plain stack, {@code --security both} measures both, one after the other
 * on fresh nodes, and prints throughput and CPU per 100k readings side by side: the cost of security. PerfTest's
 * baseline is always plaintext (the broker's own limit; in secure mode on a plain node started for it), so the
 * secured pipeline's ratio includes what TLS costs.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"The whole pipeline (simulator -> edge -> shovel -> cloud -> indexer + store) ramped until it no longer keeps up,",
        "next to RabbitMQ PerfTest on one quorum queue of the same node (ratioToSingleQueue; target 0.30)."})
final class E2eCommand implements Callable<Integer> {

  static final double TARGET_RATIO = 0.30;

  @Option(names = "--rounds", defaultValue = "3", description = "Rounds (ramp, holds, PerfTest); medians are reported (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--partitions", defaultValue = "4", description = "Partitions (default: ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--instances", defaultValue = "1", description = "Processes per role, 1 or 2 (default: ${DEFAULT-VALUE}).")
  int instances;

  @Option(names = "--xmx", defaultValue = "256m", description = "Heap cap of each role process, or 'default' for the JVM's (default: ${DEFAULT-VALUE}).")
  String xmx;

  @Option(names = "--start-rate", defaultValue = "1000", description = "Readings/s of the first step (default: ${DEFAULT-VALUE}).")
  double startRate;

  @Option(names = "--factor", defaultValue = "1.5", description = "Rate multiplier per step (default: ${DEFAULT-VALUE}).")
  double factor;

  @Option(names = "--step", defaultValue = "20", description = "Seconds per step (default: ${DEFAULT-VALUE}).")
  int stepSeconds;

  @Option(names = "--max-steps", defaultValue = "14", description = "Most steps per ramp (default: ${DEFAULT-VALUE}).")
  int maxSteps;

  @Option(names = "--hold", description = "Seconds of each latency hold (at half the sustained rate and at it; default: --step).")
  Integer holdSeconds;

  @Option(names = "--devices", defaultValue = "500", description = {"Simulated devices; each has one reading in flight, so they cap the rate at devices / confirm latency",
      "(default: ${DEFAULT-VALUE}: about 20k/s at 25 ms). More devices cost the simulator CPU at every rate."})
  int devices;

  @Option(names = "--perftest-seconds", defaultValue = "20", description = "Length of each PerfTest run (default: ${DEFAULT-VALUE}).")
  int perfTestSeconds;

  @Option(names = "--roll-age-ms", defaultValue = "2000", description = {"storage.rollAge of the benchmarked pipeline in ms (default: ${DEFAULT-VALUE}).",
      "The config default (60 s) makes a file wait a minute at low rates: the ramp could not tell waiting from falling behind."})
  long rollAgeMs;

  @Option(names = "--security", description = {"secure | insecure | both (default: secure, or insecure with --insecure).",
      "both: the same ramp on a secured stack and on a plain one, side by side (the cost of security)."})
  String security;

  @Option(names = "--secure", description = "Measure the secured stack (the default).")
  boolean secure;

  @Option(names = "--insecure", description = "Measure the plain stack (plaintext, guest, unauthenticated devices).")
  boolean insecure;

  @Option(names = "--topology", defaultValue = "fanout", split = ",", description = {"fanout | batch | streams, or several"
      + " separated by commas (default: ${DEFAULT-VALUE}). fanout: the seed's (a shovel per reading, one quorum queue per sink);"
      + " batch: the forwarder's batches into the same fanout; streams: the forwarder's batches into one stream per partition"
      + " that both sinks read (RabbitMQ 4.0).",
      "Several: each round runs each on the same nodes, in turn, printed side by side with ratios to the first."})
  List<String> topologies;

  @Option(names = "--rabbitmq", description = "The brokers' RabbitMQ: 4.0 (Debian trixie's, in a root iotpipe installs;"
      + " needed by --topology streams) or 3.10 (the host's). Default: IOTPIPE_RABBITMQ, else 4.0.")
  String rabbitmq;

  @Option(names = "--dir", description = "Work directory (default: data/bench-e2e-<random>).")
  Path dir;

  @Option(names = "--save-profile", paramLabel = "FILE", description = "Add the measured constants to this JSON file for the capacity planner.")
  Path saveProfile;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  private final Output out = new Output();
  /** The round that failed, if one did (the figures are those of the rounds before it). */
  private String failedRound;

  String heap() {
    return xmx.equalsIgnoreCase("default") ? null : xmx;
  }

  @Override
  public Integer call() throws Exception {
    if (rounds < 1 || partitions < 1 || instances < 1 || instances > 2 || factor <= 1 || stepSeconds < 4 || startRate <= 0 || devices < 1) {
      System.err.println("need --rounds >= 1, --partitions >= 1, --instances 1 or 2, --factor > 1, --step >= 4, --start-rate > 0, --devices >= 1");
      return ExitCode.USAGE;
    }
    List<LocalStack.Security> modes;
    String mode = security != null ? security.toLowerCase() : insecure ? "insecure" : "secure";
    if ((secure && insecure) || (security != null && (secure || insecure))) {
      System.err.println("choose one of --secure, --insecure, --security");
      return ExitCode.USAGE;
    }
    switch (mode) {
      case "secure" -> modes = List.of(LocalStack.Security.secure(io.iotpipe.security.Enrollment.Credential.CERTIFICATE));
      case "insecure" -> modes = List.of(LocalStack.Security.INSECURE);
      case "both" -> modes = List.of(LocalStack.Security.INSECURE, LocalStack.Security.secure(io.iotpipe.security.Enrollment.Credential.CERTIFICATE));
      default -> {
        System.err.println("--security must be secure, insecure or both (got " + security + ")");
        return ExitCode.USAGE;
      }
    }
    List<E2eBench.Topology> tops = new ArrayList<>();
    for (String t : topologies) {
      try {
        E2eBench.Topology top = E2eBench.Topology.valueOf(t.strip().toUpperCase(java.util.Locale.ROOT));
        if (!tops.contains(top)) {
          tops.add(top);
        }
      } catch (IllegalArgumentException e) {
        System.err.println("--topology: " + t + " is not one of fanout, batch, streams");
        return ExitCode.USAGE;
      }
    }
    if (tops.size() > 1 && modes.size() > 1) {
      System.err.println("several --topology values and --security both cannot be combined: compare one thing at a time");
      return ExitCode.USAGE;
    }
    boolean streams = tops.contains(E2eBench.Topology.STREAMS);
    if (rabbitmq != null) {
      // The stacks' nodes take the distribution from this property (see RabbitDistribution.selected()).
      System.setProperty("iotpipe.rabbitmq", io.iotpipe.broker.RabbitDistribution.of(rabbitmq).id());
    }
    if (streams && !"4.0".equals(io.iotpipe.broker.RabbitDistribution.selected().id())) {
      System.err.println("--topology streams needs --rabbitmq 4.0 (single active consumers on streams need 3.11 or later; the host's is 3.10)");
      return ExitCode.USAGE;
    }
    Path base = dir != null ? dir : Path.of("data", "bench-e2e-" + UUID.randomUUID().toString().substring(0, 6));
    E2eBench.Settings s = new E2eBench.Settings(partitions, instances, heap(), startRate, factor, Duration.ofSeconds(stepSeconds), maxSteps,
        devices, Duration.ofSeconds(holdSeconds != null ? holdSeconds : stepSeconds), Duration.ofMillis(rollAgeMs));
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("command", "./iotpipe bench e2e --rounds " + rounds + " --partitions " + partitions + " --instances " + instances + " --xmx " + xmx
        + " --start-rate " + Math.round(startRate) + " --factor " + factor + " --step " + stepSeconds + " --devices " + devices
        + " --roll-age-ms " + rollAgeMs + " --security " + mode + " --topology " + String.join(",", tops.stream().map(E2eBench.Topology::id).toList())
        + " --rabbitmq " + io.iotpipe.broker.RabbitDistribution.selected().id());
    r.put("machine", MeasuredProfileFile.machine());
    Map<String, Map<String, Object>> byMode = new LinkedHashMap<>();
    for (LocalStack.Security sec : modes) {
      out.info("=== " + sec.mode() + " stack ===");
      byMode.put(sec.mode(), measure(sec, modes.size() > 1 ? base.resolve(sec.mode()) : base, s, tops, streams, sec == modes.getLast()));
    }
    if (modes.size() == 1) {
      r.putAll(byMode.values().iterator().next());
    } else {
      r.put("costOfSecurity", CostOfSecurity.compare(byMode.get("insecure"), byMode.get("secure")));
      r.put("modes", byMode);
    }
    if (failedRound != null) {
      r.put("failedRound", failedRound);
    }
    if (json) {
      out.printJson(r);
    } else if (tops.size() > 1) {
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> t = (Map<String, Map<String, Object>>) r.get("topologies");
      System.out.printf("%-26s %s%n", "command", r.get("command"));
      System.out.printf("%-26s %s%n", "machine", r.get("machine"));
      System.out.print(TopologyComparison.table(t));
    } else if (modes.size() == 1) {
      for (String k : List.of("command", "machine", "security", "settings", "sustainedReadingsPerSec", "singleQueueMsgsPerSec", "ratioToSingleQueue",
          "targetMet", "rampEndedBy", "latencyMs", "cpuSecondsPer100k", "peakHeapMiB", "parquetBytesPerRow", "perfTest")) {
        System.out.printf("%-26s %s%n", k, r.get(k));
      }
    } else {
      System.out.printf("%-26s %s%n", "command", r.get("command"));
      System.out.printf("%-26s %s%n", "machine", r.get("machine"));
      System.out.print(CostOfSecurity.table(byMode.get("insecure"), byMode.get("secure")));
    }
    return ExitCode.OK;
  }

  /**
   * One security mode's rounds on a stack of its own; the figures as the JSON reports them. With several topologies
   * each round runs each on the same nodes (rotating which goes first) and they share one PerfTest baseline.
   */
  private Map<String, Object> measure(LocalStack.Security sec, Path base, E2eBench.Settings s, List<E2eBench.Topology> tops,
                                      boolean streams, boolean saveHere) throws Exception {
    Map<E2eBench.Topology, List<E2eBench.Round>> byTop = new java.util.EnumMap<>(E2eBench.Topology.class);
    tops.forEach(t -> byTop.put(t, new ArrayList<>()));
    List<PerfTestRun.Result> pts = new ArrayList<>();
    int size;
    try (LocalStack stack = LocalStack.start(base.toAbsolutePath(), 1, partitions, "", true, null, sec, false, streams, out::info);
         PlainNode plain = new PlainNode(stack, base)) {
      size = E2eBench.messageBytes(stack.config());
      E2eBench bench = new E2eBench(stack, out);
      for (int round = 1; round <= rounds; round++) {
        List<E2eBench.Topology> order = new ArrayList<>(tops);
        java.util.Collections.rotate(order, -(round - 1));
        String prefix = "e2e" + round + UUID.randomUUID().toString().substring(0, 4);
        Map<E2eBench.Topology, E2eBench.Round> thisRound = new java.util.EnumMap<>(E2eBench.Topology.class);
        try {
          for (E2eBench.Topology t : order) {
            String tag = "[round " + round + "/" + rounds + (tops.size() > 1 ? ", " + t.id() : "") + "]";
            thisRound.put(t, bench.round(prefix + (tops.size() > 1 ? t.id().charAt(0) : ""), s.with(t), true, tag));
          }
        } catch (RuntimeException e) {
          // A round that fails (a node too slow to answer, say) must not throw away the rounds measured before it;
          // the comparison keeps only rounds in which every topology ran.
          if (pts.isEmpty()) {
            throw e;
          }
          out.info("[round " + round + "/" + rounds + "] failed (" + e.getMessage() + "); reporting the " + pts.size()
              + " complete round(s) before it");
          failedRound = "round " + round + ": " + e.getMessage();
          break;
        }
        thisRound.forEach((t, r) -> byTop.get(t).add(r));
        String tag = "[round " + round + "/" + rounds + "]";
        out.info(tag + " PerfTest: one quorum queue, " + size + "-byte messages, confirms and acks, " + perfTestSeconds + " s ...");
        String queue = prefix + "-perftest";
        var node = plain.node();
        pts.add(PerfTestRun.run(node.amqpUri(), size, perfTestSeconds, queue, node.pid(), stack.dir().resolve(queue + ".log")));
        node.ctl("delete_queue", queue);
        plain.release();
        for (E2eBench.Topology t : tops) {
          out.info(String.format("%s PerfTest: %.0f msg/s; pipeline (%s) sustained %.0f readings/s -> ratio %.2f", tag,
              pts.getLast().output().rate(), t.id(), byTop.get(t).getLast().sustained(),
              byTop.get(t).getLast().sustained() / pts.getLast().output().rate()));
        }
      }
    }
    if (tops.size() == 1) {
      return summary(sec, s.with(tops.getFirst()), byTop.get(tops.getFirst()), pts, size, saveHere);
    }
    Map<String, Object> r = new LinkedHashMap<>();
    Map<String, Map<String, Object>> summaries = new LinkedHashMap<>();
    for (E2eBench.Topology t : tops) {
      // The capacity planner's profile describes the default topology (the seed's fanout).
      summaries.put(t.id(), summary(sec, s.with(t), byTop.get(t), pts, size, saveHere && t == E2eBench.Topology.FANOUT));
    }
    r.put("comparison", TopologyComparison.compare(summaries));
    r.put("topologies", summaries);
    return r;
  }

  /** The figures of one topology's rounds. */
  private Map<String, Object> summary(LocalStack.Security sec, E2eBench.Settings s, List<E2eBench.Round> rs, List<PerfTestRun.Result> pts,
                                      int size, boolean saveHere) throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    List<Double> sustained = rs.stream().map(E2eBench.Round::sustained).toList();
    List<Double> single = pts.stream().map(p -> p.output().rate()).toList();
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < rs.size(); i++) {
      ratios.add(sustained.get(i) / single.get(i));
    }
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("partitions", partitions);
    settings.put("instancesPerRole", instances);
    settings.put("heapCap", xmx);
    settings.put("cloudNodes", 1);
    settings.put("devices", devices);
    settings.put("startRate", startRate);
    settings.put("factor", factor);
    settings.put("stepSeconds", stepSeconds);
    settings.put("holdSeconds", s.hold().toSeconds());
    settings.put("messageBytes", size);
    settings.put("storageRollAgeMs", rollAgeMs);
    settings.put("topology", s.topology().id());
    settings.put("rabbitmq", io.iotpipe.broker.RabbitDistribution.selected().id());
    settings.put("keepsUpWhen", "confirmed >= " + Ramp.REACHED + " x target, neither sink's lag floor rises by more than "
        + Math.round(Ramp.LAG_GROWTH * 100) + " % of the half-step's readings, confirm latency < max(" + Ramp.CONFIRM_FLOOR_MS + " ms, "
        + Ramp.CONFIRM_FACTOR + " x the first step's)");
    r.put("settings", settings);
    Map<String, Object> security = new LinkedHashMap<>();
    security.put("mode", sec.mode());
    security.put("tls", sec.secure());
    security.put("deviceCredential", sec.secure() ? "certificate (each device its own TLS connection, enrolled per step)" : "none");
    security.put("roleAccounts", sec.secure() ? "each role its own least-privilege account over amqps" : "guest over amqp");
    security.put("perfTestBaseline", sec.secure() ? "plaintext, on a plain node started beside the secured ones (the broker's own limit)"
        : "plaintext, on the cloud node");
    r.put("security", security);
    r.put("sustainedReadingsPerSec", Stats.of(sustained, 0));
    r.put("singleQueueMsgsPerSec", Stats.of(single, 0));
    r.put("ratioToSingleQueue", Stats.round(Stats.median(ratios), 2));
    r.put("ratioToSingleQueuePerRound", ratios.stream().map(x -> Stats.round(x, 2)).toList());
    r.put("targetRatio", TARGET_RATIO);
    r.put("targetMet", Stats.median(ratios) >= TARGET_RATIO);
    List<Map<String, Object>> ended = new ArrayList<>();
    for (E2eBench.Round x : rs) {
      ended.add(Map.of("verdict", x.endedBy().name(), "why", x.endedBy().text, "limit", x.limiter()));
    }
    r.put("rampEndedBy", ended);
    Map<String, Object> lat = new LinkedHashMap<>();
    lat.put("atSustained", latency(rs, E2eBench.Round::atSustained));
    lat.put("atHalfSustained", latency(rs, E2eBench.Round::atHalf));
    lat.put("method", "deviceToIndexed / deviceToFile: publish (device clock) to ack by the role process, from the roles' histogram"
        + " buckets (10, 25, 50, 100, 250, 500, 1000, 2500, 5000 ms ...), linear within a bucket, readings of the hold only;"
        + " deviceToSearchable: a probe device publishing every " + SearchProbe.EVERY_MS + " ms beside the fleet, found by an OpenSearch"
        + " search polled every " + SearchProbe.POLL_MS + " ms (the index refreshes every 5 s)");
    r.put("latencyMs", lat);
    Map<String, Object> cpu = new LinkedHashMap<>();
    for (String proc : TopologyComparison.PROCESSES) {
      cpu.put(proc, Stats.of(rs.stream().map(x -> x.cpuPer100k().getOrDefault(proc, Double.NaN)).toList(), 2));
    }
    r.put("cpuSecondsPer100k", cpu);
    r.put("cpuNote", "at the sustained rate, over its hold and drain; simulator = the bench JVM (also scrapes /metrics once a second)");
    Map<String, Object> heap = new LinkedHashMap<>();
    heap.put("indexer", rs.stream().mapToLong(x -> x.peakHeapMiB().get("indexer")).max().orElse(0));
    heap.put("store", rs.stream().mapToLong(x -> x.peakHeapMiB().get("store")).max().orElse(0));
    heap.put("forwarder", rs.stream().mapToLong(x -> x.peakHeapMiB().get("forwarder")).max().orElse(0));
    heap.put("cap", xmx);
    heap.put("method", "sum of the heap pools' peak usage (JMX MemoryPoolMXBean) of each role process over its whole round, from its /metrics");
    r.put("peakHeapMiB", heap);
    long bytes = rs.stream().mapToLong(E2eBench.Round::parquetBytes).sum();
    long stored = rs.stream().mapToLong(E2eBench.Round::storedRows).sum();
    double bytesPerRow = stored == 0 ? Double.NaN : Stats.round((double) bytes / stored, 1);
    r.put("parquetBytesPerRow", bytesPerRow);
    Map<String, Object> pt = new LinkedHashMap<>();
    pt.put("artifact", "com.rabbitmq:perf-test:2.22.1");
    pt.put("options", String.join(" ", PerfTestRun.options(size)) + " --time " + perfTestSeconds);
    pt.put("cloudBrokerCpuSecondsPer100k", Stats.of(pts.stream().map(p -> p.brokerCpuSeconds() / Math.max(1, p.output().rate() * perfTestSeconds) * 100_000).toList(), 2));
    r.put("perfTest", pt);
    List<List<Map<String, Object>>> steps = new ArrayList<>();
    for (E2eBench.Round x : rs) {
      steps.add(x.steps().stream().map(E2eBench.Interval::toJson).toList());
    }
    r.put("steps", steps);
    List<Object> holds = new ArrayList<>();
    for (E2eBench.Round x : rs) {
      holds.add(Map.of("atHalfSustained", x.atHalf(), "atSustained", x.atSustained()));
    }
    r.put("holds", holds);
    if (saveProfile != null && saveHere) {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("e2eSustainedReadingsPerSec", Math.round(Stats.median(sustained)));
      p.put("e2eSetup", Map.of("partitions", partitions, "instancesPerRole", instances, "cloudNodes", 1, "heapCap", xmx));
      p.put("singleQuorumQueueMsgsPerSec", Math.round(Stats.median(single)));
      p.put("cloudNodeReadingsPerSec", Math.round(Stats.median(sustained)));
      Map<String, Object> c = new LinkedHashMap<>();
      Map<String, Object> perCore = new LinkedHashMap<>();
      for (String proc : List.of("simulator", "edgeBroker", "cloudBroker", "indexer", "store", "searchEngine", "total")) {
        double m = Stats.median(rs.stream().map(x -> x.cpuPer100k().getOrDefault(proc, Double.NaN)).toList());
        c.put(proc, Stats.round(m, 2));
        perCore.put(proc, m > 0 ? Math.round(100_000 / m) : null);
      }
      p.put("cpuSecondsPer100kReadings", c);
      p.put("readingsPerCpuSecond", perCore);
      p.put("peakHeapMiB", Map.of("indexer", heap.get("indexer"), "store", heap.get("store"), "cap", xmx));
      if (!Double.isNaN(bytesPerRow)) {
        // Not the planner's parquetBytesPerRow: e2e's files roll every --roll-age-ms (2 s), far smaller than a
        // store's files at its rollAge, and small files cost more bytes per row (35 vs 16 B measured). bench store owns it.
        p.put("e2eParquetBytesPerRow", bytesPerRow);
      }
      MeasuredProfileFile.save(saveProfile, "bench e2e", p);
      out.info("profile: " + p.keySet() + " written to " + saveProfile);
    }
    return r;
  }

  /**
   * Where PerfTest runs: the cloud node of an insecure stack; a plain single node beside a secured stack (whose TLS-only
   * nodes would add TLS to the baseline, which is meant to be the broker's own limit).
   */
  private static final class PlainNode implements AutoCloseable {
    private final LocalStack stack;
    private final Path dir;
    private io.iotpipe.broker.LocalCluster cluster;

    PlainNode(LocalStack stack, Path dir) {
      this.stack = stack;
      this.dir = dir;
    }

    io.iotpipe.broker.LocalNode node() {
      if (!stack.security().secure()) {
        return stack.brokers().cloud().node(0);
      }
      if (cluster == null) {
        cluster = io.iotpipe.broker.LocalCluster.start("perftest-" + UUID.randomUUID().toString().substring(0, 4), 1,
            dir.toAbsolutePath().resolve("perftest-node"));
      }
      return cluster.node(0);
    }

    /** Stops the side node between PerfTest runs: an idle broker still costs CPU during the next ramp. */
    void release() {
      if (cluster != null) {
        cluster.close();
        cluster = null;
      }
    }

    @Override
    public void close() {
      release();
    }
  }

  /** Medians over rounds of the hold latencies. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> latency(List<E2eBench.Round> rs, Function<E2eBench.Round, Map<String, Object>> hold) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (String path : List.of("deviceToIndexedMs", "deviceToSearchableMs", "deviceToFileMs")) {
      Map<String, Object> q = new LinkedHashMap<>();
      for (String p : List.of("p50", "p99")) {
        q.put(p, Stats.of(rs.stream().map(x -> {
          Object o = hold.apply(x).get(path);
          return o instanceof Map<?, ?> mm && mm.get(p) instanceof Double d ? d : Double.NaN;
        }).toList(), 0));
      }
      m.put(path.replace("Ms", ""), q);
    }
    return m;
  }
}
