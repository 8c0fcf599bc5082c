package io.iotpipe.tools.bench;

import io.iotpipe.testkit.LocalStack;
import io.iotpipe.testkit.RoleProcess;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.sink.Sink;
import io.iotpipe.elasticsearch.RawBulkLoader;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.storage.StorageSink;
import io.iotpipe.storage.format.ParquetFormat;
import io.iotpipe.storage.format.StoreSchema;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe bench index|store}: throughput and CPU of a sink next to its two baselines, measured in one run on
 * the same machine (so a noisy neighbour hits all three): the broker alone (consume + ack, no sink work), the sink's
 * engine alone (the same rows from memory), and the real role draining preloaded queues. They share the cores, so
 * the ceiling of the real role is about {@code 1 / (1/broker + 1/engine)}; the ratio to it is the figure of merit.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks against baselines measured in the same run.",
    subcommands = {BenchCommand.Index.class, BenchCommand.Store.class, E2eCommand.class, ScalingCommand.class, DevicesCommand.class})
public final class BenchCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  abstract static class Base implements java.util.concurrent.Callable<Integer> {
    @Option(names = "--messages", defaultValue = "100000", description = "Messages per phase (default: ${DEFAULT-VALUE}).")
    int messages;

    @Option(names = "--partitions", defaultValue = "4", description = "Partitions (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--dir", description = "Work directory (default: data/bench-<random>).")
    Path dir;

    @Option(names = "--storage-prefetch", description = "storage.consumer.prefetch for the run (default: the config default).")
    Integer storagePrefetch;

    String storageYaml() {
      // A drain ends with each partition's last file waiting for rollAge (no more rows come): 1 s keeps that tail
      // from dominating a benchmark of a few seconds; in a continuous stream files roll by size.
      return "  rollAge: 1s" + (storagePrefetch == null ? "" : "\n  consumer: {prefetch: " + storagePrefetch + "}");
    }

    @Option(names = "--json", description = "Print the figures as JSON.")
    boolean json;

    /** A fresh pipeline of the stack with this benchmark's settings. */
    IotpipeConfig pipeline(LocalStack stack, String prefix, String file) {
      return stack.pipeline(prefix, storageYaml(), file, this::editYaml);
    }

    /** Seconds of the lake's freshness phase at half its drain rate ({@code store} only; 0: none). */
    int freshnessSeconds() {
      return 0;
    }

    /**
     * Issue 19's device → queryable: the lake role runs on a fresh table while readings stamped with the time they are
     * published arrive at {@code rate} (half the drain rate just measured) for {@link #freshnessSeconds()}; then the
     * table itself says, per reading, how long after its {@code ts} the snapshot holding it was committed
     * ({@code LakeReader.freshness}). A warm-up batch is committed first, so the role's start is not measured.
     */
    Map<String, Object> lakeFreshness(LocalStack stack, double rate, String heap) throws Exception {
      String prefix = "bench" + System.nanoTime() % 100000;
      IotpipeConfig cfg = pipeline(stack, prefix, prefix + ".yaml");
      int total = (int) Math.max(1, Math.round(rate * freshnessSeconds()));
      out.info(String.format("lake freshness: %d readings at %.0f/s (half the lake's drain rate) for %d s", total, rate, freshnessSeconds()));
      RoleProcess proc = stack.roleProcess("lake", cfg, prefix + "-lake").heap(heap).start();
      TelemetryCodec codec = new TelemetryCodec();
      try (var conn = Amqp.connect(cfg.broker(cfg.topology().balancer()), "bench-freshness");
           ConfirmingPublisher pub = new ConfirmingPublisher(conn.createChannel(), 5000)) {
        var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").build();
        int devices = 1000;
        long[] seq = new long[devices];
        java.util.function.IntFunction<CompletableFuture<Void>> send = i -> {
          int d = i % devices;
          Map<String, Double> m = Map.of("powerKw", 7.0, "energyKwh", 1.0 + i, "soc", 50.0);
          Telemetry t = new Telemetry("fresh-" + d, ++seq[d], java.time.Instant.now(), "site-" + d % 20, "eu-west", "CHARGING", null, m);
          try {
            return pub.publish(cfg.topology().names().cloudIngress(), "telemetry." + t.deviceId(), props, codec.encode(t));
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        };
        List<CompletableFuture<Void>> warm = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
          warm.add(send.apply(i));
        }
        CompletableFuture.allOf(warm.toArray(CompletableFuture[]::new)).join();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (proc.delivered() < devices && System.nanoTime() < deadline && proc.isAlive()) {
          TimeUnit.MILLISECONDS.sleep(200);
        }
        if (proc.delivered() < devices) {
          throw new IllegalStateException("the lake role did not commit its warm-up readings in 3 minutes: see " + proc.log());
        }
        java.time.Instant since = java.time.Instant.now();
        long t0 = System.nanoTime();
        List<CompletableFuture<Void>> fs = new ArrayList<>(total);
        for (int i = 0; i < total; i++) {
          long due = t0 + (long) (i * 1e9 / rate);
          long wait = due - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait); // pacing the publisher at the target rate
          }
          fs.add(send.apply(devices + i));
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
        deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (proc.delivered() < devices + total && System.nanoTime() < deadline && proc.isAlive()) {
          TimeUnit.MILLISECONDS.sleep(200);
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("rate", Math.round(rate));
        f.put("seconds", freshnessSeconds());
        try (io.iotpipe.lake.LakeReader reader = new io.iotpipe.lake.LakeReader(cfg.section(io.iotpipe.lake.LakeSection.SECTION))) {
          f.putAll(reader.freshness(since));
        }
        // the storage freshness SLO's target for the lake (its commit interval's bound)
        f.put("sloTargetMs", io.iotpipe.lake.LakeSection.SECTION.visibleWithin(cfg.section(io.iotpipe.lake.LakeSection.SECTION))
            .values().iterator().next().toMillis());
        out.info("lake freshness: " + f);
        f.put("compaction", lakeCompaction(cfg, f));
        return f;
      } finally {
        proc.terminate(60);
      }
    }

    /**
     * The small files the commits leave and what compaction makes of them: data files the sink's commits added (from
     * the snapshots' summaries; the role's own upkeep may already have merged some, its first round comes 30 s after
     * start), data files in the table before and after one more compaction round ({@code LakeMaintenance.compact},
     * every event day with at least 2 files) and its time; and the objects the commits write per hour at the freshness
     * phase's rate (each commit: its data files and 4 metadata objects — state file, manifest, manifest list, metadata).
     */
    Map<String, Object> lakeCompaction(IotpipeConfig cfg, Map<String, Object> freshness) {
      io.iotpipe.lake.LakeSection.Settings ls = cfg.section(io.iotpipe.lake.LakeSection.SECTION);
      Map<String, Object> c = new LinkedHashMap<>();
      long commits = 0;
      long added = 0;
      long filesNow = 0;
      try (io.iotpipe.lake.LakeReader reader = new io.iotpipe.lake.LakeReader(ls)) {
        for (Map<String, Object> s : reader.snapshots()) {
          if (s.get("partition") != null) {
            commits++;
            added += ((Number) s.get("addedDataFiles")).longValue();
          }
          if (Boolean.TRUE.equals(s.get("current"))) {
            filesNow = ((Number) s.get("dataFiles")).longValue();
          }
        }
      }
      c.put("sinkCommits", commits);
      c.put("dataFilesAddedByCommits", added);
      c.put("dataFilesBefore", filesNow);
      var catalog = ls.catalog().open();
      try {
        var table = catalog.loadTable(org.apache.iceberg.catalog.TableIdentifier.parse(ls.table()));
        long t0 = System.nanoTime();
        io.iotpipe.lake.LakeMaintenance.Compacted done = new io.iotpipe.lake.LakeMaintenance(table).compact(2, ls.maintenance().compactMaxRows());
        c.put("seconds", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
        c.put("rowsRewritten", done.rows());
        c.put("dataFilesAfter", filesNow - done.filesBefore() + done.filesAfter());
      } finally {
        if (catalog instanceof AutoCloseable a) {
          try {
            a.close();
          } catch (Exception e) {
            // the bench's own catalog connection
          }
        }
      }
      long phaseCommits = ((Number) freshness.getOrDefault("commits", 0)).longValue();
      if (commits > 0 && phaseCommits > 0) {
        c.put("objectsPerHourAtRate", Math.round((double) phaseCommits / freshnessSeconds() * 3600 * ((double) added / commits + 4)));
      }
      return c;
    }

    /** Options of the subcommand for the "command" field. */
    String commandSuffix() {
      return "";
    }

    /** Changes to the generated pipeline config (none by default). */
    String editYaml(String yaml) {
      return yaml;
    }

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds of the three measurements; medians are reported (default: ${DEFAULT-VALUE}).")
    int rounds;

    static double median(List<Double> xs) {
      List<Double> sorted = xs.stream().sorted().toList();
      int n = sorted.size();
      return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    final Output out = new Output();

    abstract String sink();

    abstract boolean needsSearch();

    /** Whether each round also drains the lake role (issue 19's side-by-side comparison; {@code store} only). */
    boolean lake() {
      return false;
    }

    /** Whether each round also drains the Apache Camel route ({@link CamelBaseline}; {@code store} only). */
    boolean camel() {
      return false;
    }

    /** The engine-alone baseline: rows/s. */
    abstract double engineAlone(LocalStack stack, IotpipeConfig cfg, List<Telemetry> rows) throws Exception;


    @Option(names = "--xmx", description = "Also run the sink process with this heap cap (e.g. 256m) and report both rates.")
    String xmx;

    @Option(names = "--save-profile", paramLabel = "FILE", description = "Add the measured constants to this JSON file for the capacity planner.")
    Path saveProfile;

    /** The role name of the sink for {@code iotpipe run --role}. */
    String role() {
      return sink().equals("elk") ? "index" : "store";
    }

    @Override
    public Integer call() throws Exception {
      if (rounds < 1 || messages < 1) {
        System.err.println("--rounds and --messages must be at least 1");
        return ExitCode.USAGE;
      }
      Path base = dir != null ? dir : Path.of("data", "bench-" + UUID.randomUUID().toString().substring(0, 6));
      List<Telemetry> rows = rows(messages);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("machine", MeasuredProfileFile.machine());
      if (camel() && CamelBaseline.missing() != null) {
        System.err.println(CamelBaseline.missing());
        return ExitCode.USAGE;
      }
      try (LocalStack stack = LocalStack.start(base.toAbsolutePath(), 1, partitions, storageYaml(), needsSearch(), null,
          LocalStack.Security.INSECURE, lake(), out::info)) {
        long broker = stack.brokers().cloud().node(0).pid();
        long engine = stack.search() == null ? -1 : stack.search().pid();
        // Rounds interleave the measurements, so a noisy neighbour hits them alike; medians are reported.
        List<Phase> as = new ArrayList<>();
        List<Phase> cs = new ArrayList<>();
        List<Phase> xs = new ArrayList<>();
        List<Phase> ls = new ArrayList<>();
        List<Phase> ks = new ArrayList<>();
        List<SideBySide.Round> sideBySide = new ArrayList<>();
        String heapLabel = xmx != null ? "-Xmx" + xmx : "JVM default heap";
        List<Double> engineRates = new ArrayList<>();
        List<Double> engineCpus = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        List<Double> ratiosAtXmx = new ArrayList<>();
        long engineHeap = 0;
        // The engine-alone baseline runs in a JVM that is warm for the pipeline (the search engine, or this JVM's
        // Parquet writer): measured cold, its first round did half the work per CPU-second (OpenSearch 14.9 vs 6.4
        // CPU-s per 100k docs) and made the ratio 1.5. One untimed pass first, as a JMH warm-up iteration would.
        long w0 = System.nanoTime();
        engineAlone(stack, pipeline(stack, "warmup" + System.nanoTime() % 100000, "bench-warmup.yaml"), rows);
        out.info(String.format("engine warm-up (untimed): %.1f s", (System.nanoTime() - w0) / 1e9));
        for (int round = 1; round <= rounds; round++) {
          String tag = rounds > 1 ? " [round " + round + "/" + rounds + "]" : "";
          Phase a = drain(stack, rows, "broker alone (consume + ack)" + tag, cfg -> new AckOnlySink(sink()), broker, engine);
          CpuMeter.resetPeakHeap();
          double e0 = engine > 0 ? CpuMeter.processSeconds(engine) : CpuMeter.ownSeconds();
          long t0 = System.nanoTime();
          double engineRate = engineAlone(stack, pipeline(stack, "bench" + System.nanoTime() % 100000, "bench-engine.yaml"), rows);
          engineCpus.add((engine > 0 ? CpuMeter.processSeconds(engine) : CpuMeter.ownSeconds()) - e0);
          engineHeap = Math.max(engineHeap, CpuMeter.peakHeapBytes());
          out.info(String.format("engine alone%s: %.0f rows/s (%.1f s)", tag, engineRate, (System.nanoTime() - t0) / 1e9));
          Phase c = drainProcess(stack, rows, "iotpipe " + role() + " (JVM default heap)" + tag, null, broker, engine);
          as.add(a);
          cs.add(c);
          engineRates.add(engineRate);
          double roundCeiling = 1 / (1 / a.rate + 1 / engineRate);
          ratios.add(c.rate / roundCeiling);
          if (xmx != null) {
            Phase x = drainProcess(stack, rows, "iotpipe " + role() + " (-Xmx" + xmx + ")" + tag, xmx, broker, engine);
            xs.add(x);
            ratiosAtXmx.add(x.rate / roundCeiling);
          }
          // Issue 19: the lake and the Camel route at the same heap cap as the file store they are set against.
          double lakeRate = Double.NaN;
          double camelRate = Double.NaN;
          if (lake()) {
            Phase l = drainProcess(stack, rows, "iotpipe lake (" + heapLabel + ")" + tag, xmx, broker, engine, "lake", "lake");
            ls.add(l);
            lakeRate = l.rate();
          }
          if (camel()) {
            Phase k = drainCamel(stack, rows, "Camel route (" + heapLabel + ")" + tag, xmx, broker);
            ks.add(k);
            camelRate = k.rate();
          }
          if (lake() || camel()) {
            sideBySide.add(new SideBySide.Round(lakeRate, (xmx != null ? xs : cs).getLast().rate(), camelRate));
          }
        }
        double aRate = median(as.stream().map(Phase::rate).toList());
        double engineRate = median(engineRates);
        double ceiling = 1 / (1 / aRate + 1 / engineRate);
        r.put("command", "./iotpipe bench " + role() + " --messages " + messages + " --partitions " + partitions + " --rounds " + rounds
            + (xmx != null ? " --xmx " + xmx : "") + commandSuffix());
        r.put("messages", messages);
        r.put("rounds", rounds);
        r.put("brokerAloneMsgsPerSec", Math.round(aRate));
        r.put("engineAloneRowsPerSec", Math.round(engineRate));
        r.put("ceilingMsgsPerSec", Math.round(ceiling));
        r.put("pipelineMsgsPerSec", Math.round(median(cs.stream().map(Phase::rate).toList())));
        r.put("pipelineMsgsPerSecRange", range(cs.stream().map(Phase::rate).toList()));
        r.put("ratioToCeiling", Math.round(median(ratios) * 100) / 100.0);
        r.put("ratioPerRound", ratios.stream().map(x -> Math.round(x * 100) / 100.0).toList());
        if (xmx != null) {
          r.put("xmx", xmx);
          r.put("pipelineAtXmxMsgsPerSec", Math.round(median(xs.stream().map(Phase::rate).toList())));
          r.put("pipelineAtXmxMsgsPerSecRange", range(xs.stream().map(Phase::rate).toList()));
          r.put("ratioToCeilingAtXmx", Math.round(median(ratiosAtXmx) * 100) / 100.0);
          r.put("ratioAtXmxPerRound", ratiosAtXmx.stream().map(x -> Math.round(x * 100) / 100.0).toList());
        }
        String sfx = xmx != null ? "AtXmx" : "";
        Map<String, Object> ratiosSideBySide = SideBySide.ratios(sideBySide);
        if (lake()) {
          r.put("lake" + sfx + "MsgsPerSec", Math.round(median(ls.stream().map(Phase::rate).toList())));
          r.put("lake" + sfx + "MsgsPerSecPerRound", ls.stream().map(p -> Math.round(p.rate())).toList());
          r.put("lakeCommitsOfLastPhase", LakeCommitCost.of(otherLastPage, ls.getLast().rate()));
          if (freshnessSeconds() > 0) {
            r.put("lakeFreshness", lakeFreshness(stack, median(ls.stream().map(Phase::rate).toList()) / 2, xmx));
          }
        }
        if (camel()) {
          r.put("camel" + sfx + "MsgsPerSec", Math.round(median(ks.stream().map(Phase::rate).toList())));
          r.put("camel" + sfx + "MsgsPerSecPerRound", ks.stream().map(p -> Math.round(p.rate())).toList());
          r.put("camelRoute", "Apache Camel 4.17.0 (iotpipe-bench-camel, child JVM on this JDK): spring-rabbitmq, one quorum queue"
              + " preloaded with the same readings, prefetch " + CamelBaseline.PREFETCH + ", manual acks; aggregate "
              + CamelBaseline.BATCH + " (or 1 s idle); parquet-avro " + CamelBaseline.CODEC + "; file component writes a temporary"
              + " name and renames it, then the route fsyncs file and directory; then one basicAck(multiple) for the batch. No exactly-once.");
        }
        if (lake() || camel()) {
          r.put("fileStore" + sfx + "MsgsPerSecPerRound", (xmx != null ? xs : cs).stream().map(p -> Math.round(p.rate())).toList());
          r.putAll(ratiosSideBySide);
        }
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("brokerAlone.broker", per100k(median(as.stream().map(Phase::brokerCpu).toList())));
        cpu.put("brokerAlone.consumer", per100k(median(as.stream().map(Phase::ownCpu).toList())));
        cpu.put("engineAlone.engine", per100k(median(engineCpus)));
        cpu.put("pipeline.broker", per100k(median(cs.stream().map(Phase::brokerCpu).toList())));
        cpu.put("pipeline.engine", per100k(median(cs.stream().map(Phase::engineCpu).toList())));
        cpu.put("pipeline.sinkProcess", per100k(median(cs.stream().map(Phase::ownCpu).toList())));
        if (xmx != null) {
          cpu.put("pipelineAtXmx.sinkProcess", per100k(median(xs.stream().map(Phase::ownCpu).toList())));
        }
        if (lake()) {
          cpu.put("lake" + sfx + ".broker", per100k(median(ls.stream().map(Phase::brokerCpu).toList())));
          cpu.put("lake" + sfx + ".sinkProcess", per100k(median(ls.stream().map(Phase::ownCpu).toList())));
        }
        if (camel()) {
          cpu.put("camel" + sfx + ".broker", per100k(median(ks.stream().map(Phase::brokerCpu).toList())));
          cpu.put("camel" + sfx + ".routeProcess", per100k(median(ks.stream().map(Phase::ownCpu).toList())));
        }
        r.put("cpuSecondsPer100k", cpu);
        Map<String, Object> heap = new LinkedHashMap<>();
        heap.put("pipeline", cs.stream().mapToLong(Phase::peakHeap).max().orElse(0) >> 20);
        if (xmx != null) {
          heap.put("pipelineAtXmx", xs.stream().mapToLong(Phase::peakHeap).max().orElse(0) >> 20);
        }
        if (lake()) {
          heap.put("lake" + sfx, ls.stream().mapToLong(Phase::peakHeap).max().orElse(0) >> 20);
        }
        if (camel()) {
          heap.put("camel" + sfx, ks.stream().mapToLong(Phase::peakHeap).max().orElse(0) >> 20);
        }
        heap.put("engineAlone", engineHeap >> 20);
        r.put("peakHeapMiB", heap);
        r.put("defaultMaxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
        r.put("storageRollAge", "1s");
        r.put("sinkRunsAs", "a child JVM (iotpipe run --role " + role() + "); rate measured from the ack that ends the first fifth of the drain to the last (JIT warm-up and JVM start excluded; the broker-alone drain is measured the same way)");
        extra(stack, r, cs.size() + xs.size());
        if (lake() || camel()) {
          summaryLine = SideBySide.summary(heapLabel, lake() ? median(ls.stream().map(Phase::rate).toList()) : Double.NaN,
              median((xmx != null ? xs : cs).stream().map(Phase::rate).toList()),
              camel() ? median(ks.stream().map(Phase::rate).toList()) : Double.NaN, ratiosSideBySide);
        }
        if (saveProfile != null) {
          Map<String, Object> p = new LinkedHashMap<>();
          p.put(role().equals("index") ? "indexerMsgsPerSecPerInstance" : "storeMsgsPerSecPerInstance",
              Math.round(median((xmx != null ? xs : cs).stream().map(Phase::rate).toList())));
          p.put(role().equals("index") ? "indexerHeapCap" : "storeHeapCap", xmx != null ? xmx : "JVM default");
          if (r.get("bytesPerRowOnDisk") != null) {
            p.put("parquetBytesPerRow", r.get("bytesPerRowOnDisk"));
          }
          MeasuredProfileFile.save(saveProfile, "bench " + role(), p);
          out.info("profile: " + p.keySet() + " written to " + saveProfile);
        }
      }
      if (json) {
        out.printJson(r);
      } else {
        r.forEach((k, v) -> System.out.printf("%-28s %s%n", k, v));
      }
      if (summaryLine != null) {
        // on stderr with the progress: stdout stays the JSON document with --json
        out.info(summaryLine);
      }
      return ExitCode.OK;
    }

    static Map<String, Long> range(List<Double> xs) {
      return Map.of("min", Math.round(xs.stream().mapToDouble(Double::doubleValue).min().orElse(0)),
          "max", Math.round(xs.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
    }

    /**
     * Preloads the queues of a fresh pipeline, then starts the real role as its own JVM ({@code iotpipe run}) with
     * heap cap {@code heap} (null: the JVM default) and measures it in its steady state ({@link #WARM_UP_SHARE}): JVM
     * start, connecting and JIT warm-up are not part of the rate (recovery figures measure those).
     */
    Phase drainProcess(LocalStack stack, List<Telemetry> rows, String label, String heap, long broker, long engine) throws Exception {
      return drainProcess(stack, rows, label, heap, broker, engine, role(), sink());
    }

    /** As above for role {@code role} consuming sink {@code sinkName}'s queues (the lake beside the file store). */
    Phase drainProcess(LocalStack stack, List<Telemetry> rows, String label, String heap, long broker, long engine,
                       String roleName, String sinkName) throws Exception {
      String prefix = "bench" + System.nanoTime() % 100000;
      String file = prefix + ".yaml";
      IotpipeConfig cfg = pipeline(stack, prefix, file);
      preload(cfg, rows);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (stack.depth(cfg, sinkName) < rows.size() && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(500); // the management API lags: poll until the preload is visible
      }
      RoleProcess proc = stack.roleProcess(roleName, cfg, prefix + "-" + roleName).heap(heap).start();
      try {
        Phase ph = measure(rows.size(), label, proc::delivered, 100, proc.pid(), proc::isAlive, proc.log(), broker, engine,
            () -> {
              List<String> page = proc.scrape();
              if (roleName.equals(role())) {
                lastPage = page;
              } else {
                otherLastPage = page;
              }
              return (long) PromText.sum(page, E2eBench.HEAP_PEAK, Map.of());
            });
        return ph;
      } finally {
        proc.terminate(60);
      }
    }

    /**
     * Measures a sink process draining {@code total} preloaded messages in its steady state: {@code delivered} is its
     * acked count (polled every {@code pollMillis}: the interval ends at the first poll after the last ack),
     * {@code peakHeap} read once it is done.
     */
    Phase measure(int total, String label, java.util.function.LongSupplier delivered, long pollMillis, long pid,
                  java.util.function.BooleanSupplier alive,
                  Path log, long broker, long engine, java.util.function.LongSupplier peakHeap) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      long d0 = 0;
      long t0 = 0;
      double b0 = 0;
      double e0 = 0;
      double o0 = 0;
      long done;
      long warm = warmedUpAfter(total);
      long firstAck = 0;
      double firstAckCpu = 0;
      while (true) {
        long now = System.nanoTime();
        done = delivered.getAsLong();
        if (firstAck == 0 && done > 0) {
          firstAck = now;
          firstAckCpu = CpuMeter.processSeconds(pid);
        }
        if (t0 == 0 && done >= warm) {
          t0 = now;
          d0 = done;
          b0 = CpuMeter.processSeconds(broker);
          e0 = engine > 0 ? CpuMeter.processSeconds(engine) : 0;
          o0 = CpuMeter.processSeconds(pid);
        }
        if (done >= total) {
          break;
        }
        if (now > deadline || !alive.getAsBoolean()) {
          throw new IllegalStateException(label + ": delivered only " + done + " of " + total
              + (alive.getAsBoolean() ? " in time" : ": the process died") + "; see " + log);
        }
        out.progress(String.format("%s: %d / %d", label, done, total));
        TimeUnit.MILLISECONDS.sleep(pollMillis);
      }
      long end = System.nanoTime();
      double secs = (end - t0) / 1e9;
      double whole = done / ((end - firstAck) / 1e9);
      double wholeCpu = (CpuMeter.processSeconds(pid) - firstAckCpu) / done * 100_000;
      out.endProgress();
      // CPU was counted in the steady state, over done - d0 messages; scaled to all of them for per100k().
      double scale = (double) total / Math.max(1, done - d0);
      Phase ph = new Phase((done - d0) / secs, (CpuMeter.processSeconds(broker) - b0) * scale,
          engine > 0 ? (CpuMeter.processSeconds(engine) - e0) * scale : 0, (CpuMeter.processSeconds(pid) - o0) * scale,
          peakHeap.getAsLong());
      out.info(String.format("%s: %.0f msg/s (the last %d in %.1f s; from the first ack: %.0f msg/s, %.2f CPU-s per 100k"
              + " against %.2f), peak heap %d MiB", label, ph.rate(), done - d0, secs, whole, wholeCpu,
          ph.ownCpu() / total * 100_000, ph.peakHeap() >> 20));
      return ph;
    }

    /**
     * Rates are of the steady state: measured from the delivery that ends the first fifth of a drain to the last,
     * in every phase alike, as a JMH warm-up would (each sink process is a fresh JVM, the baselines run in this warm
     * one). Measured on a quiet machine, the rate from the first ack differs by 1-3 %; the progress line prints both.
     * A service runs for days; its start-up is measured where it matters (chaos: restart → first ack).
     */
    static final double WARM_UP_SHARE = 0.2;

    static long warmedUpAfter(int messages) {
      return Math.max(1, (long) (messages * WARM_UP_SHARE));
    }

    /** Issue 19's ratios in one line, printed last (null when neither the lake nor Camel ran). */
    String summaryLine;

    /**
     * Preloads one quorum queue with the rows and measures the Camel route ({@link CamelBaseline}) draining it, in the
     * steady state as the role processes ({@link #WARM_UP_SHARE}); its peak heap is the JVM's heap pools' peak.
     */
    Phase drainCamel(LocalStack stack, List<Telemetry> rows, String label, String heap, long broker) throws Exception {
      String id = "bench-camel-" + System.nanoTime() % 100000;
      var brokerCfg = stack.config().sinkBroker();
      CamelBaseline.preload(brokerCfg, id, rows);
      List<String> metrics = List.copyOf(rows.getFirst().metrics().keySet());
      try (CamelBaseline route = CamelBaseline.start(brokerCfg, id, stack.dir().resolve(id), metrics, heap, stack.dir().resolve(id + ".log"))) {
        // A local counter, polled more often than the other phases: the route acks a whole batch at once, so a slow poll
        // would misplace the steady-state window by a large share of it.
        return measure(rows.size(), label, route::acked, 10, route.pid(), route::isAlive, route.log(), broker, -1, route::heapPeak);
      } finally {
        try (var conn = Amqp.connect(brokerCfg, "bench-camel-cleanup")) {
          conn.createChannel().queueDelete(id); // its copies would otherwise sit on the broker for the rest of the run
        }
      }
    }

    /** The /metrics page of the last sink process, read before it stopped. */
    List<String> lastPage = List.of();
    /** The same for the other role a round drains (the lake beside the file store). */
    List<String> otherLastPage = List.of();

    void extra(LocalStack stack, Map<String, Object> r, int phases) throws Exception {}

    double per100k(double cpuSeconds) {
      return Math.round(cpuSeconds / messages * 100_000 * 100) / 100.0;
    }

    record Phase(double rate, double brokerCpu, double engineCpu, double ownCpu, long peakHeap) {}

    /** Preloads the sink's queues of a fresh pipeline, then measures one consumer + sink draining them. */
    Phase drain(LocalStack stack, List<Telemetry> rows, String label, Function<IotpipeConfig, Sink> sinkFor, long broker, long engine)
        throws Exception {
      IotpipeConfig cfg = pipeline(stack, "bench" + System.nanoTime() % 100000, "bench-" + label.hashCode() + ".yaml");
      preload(cfg, rows);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (stack.depth(cfg, sink()) < rows.size() && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(500); // the management API lags: poll until the preload is visible
      }
      CpuMeter.resetPeakHeap();
      double b0 = 0;
      double e0 = 0;
      double o0 = 0;
      long t0 = 0;
      long d0 = 0;
      long warm = warmedUpAfter(rows.size());
      Sink sink = sinkFor.apply(cfg);
      List<String> queues = new ArrayList<>();
      for (int p = 0; p < cfg.topology().partitions(); p++) {
        queues.add(cfg.topology().names().sinkQueue(sink(), p));
      }
      var settings = sink().equals("elk") ? cfg.indexer().consumer() : cfg.storage().consumer();
      try (SinkConsumer c = new SinkConsumer(cfg.sinkBroker(), queues, sink, new TelemetryCodec(cfg.contract(), Clock.systemUTC()),
          settings, cfg.topology().names(), new SimpleMeterRegistry()).start()) {
        long done;
        while ((done = c.stats().delivered()) < rows.size()) {
          if (t0 == 0 && done >= warm) {
            t0 = System.nanoTime();
            d0 = done;
            b0 = CpuMeter.processSeconds(broker);
            e0 = engine > 0 ? CpuMeter.processSeconds(engine) : 0;
            o0 = CpuMeter.ownSeconds();
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(label + ": drained only " + c.stats().delivered() + " of " + rows.size() + " in time: " + c.stats());
          }
          out.progress(String.format("%s: %d / %d", label, c.stats().delivered(), rows.size()));
          TimeUnit.MILLISECONDS.sleep(50); // polling the drain counter; the measured interval ends at the first poll after
        }
        if (t0 == 0) {
          throw new IllegalStateException(label + ": drained before the first poll; use more --messages");
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        out.endProgress();
        out.info(label + ": " + c.stats());
        double scale = (double) rows.size() / Math.max(1, done - d0);
        Phase ph = new Phase((done - d0) / secs, (CpuMeter.processSeconds(broker) - b0) * scale,
            engine > 0 ? (CpuMeter.processSeconds(engine) - e0) * scale : 0, (CpuMeter.ownSeconds() - o0) * scale, CpuMeter.peakHeapBytes());
        out.info(String.format("%s: %.0f msg/s (the last %d in %.1f s)", label, ph.rate(), done - d0, secs));
        sink.close();
        return ph;
      }
    }
  }

  /** Readings of 1000 devices, in seq order per device, with realistic values. */
  static List<Telemetry> rows(int n) {
    SplittableRandom rnd = new SplittableRandom(42);
    List<Telemetry> out = new ArrayList<>(n);
    Instant t = Instant.now().minusSeconds(3600);
    for (int i = 0; i < n; i++) {
      int d = i % 1000;
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("powerKw", Math.round(rnd.nextDouble(0, 150) * 100) / 100.0);
      m.put("energyKwh", Math.round((1000 + i * 0.01) * 100) / 100.0);
      m.put("soc", Math.round(rnd.nextDouble(5, 100) * 10) / 10.0);
      m.put("tempC", Math.round(rnd.nextDouble(15, 45) * 10) / 10.0);
      out.add(new Telemetry("bench-" + d, i / 1000 + 1, t.plusMillis(i * 10L), "site-" + d % 20, "eu-west", "CHARGING", null, m));
    }
    return out;
  }

  static void preload(IotpipeConfig cfg, List<Telemetry> rows) throws Exception {
    TelemetryCodec codec = new TelemetryCodec();
    try (var conn = Amqp.connect(cfg.broker(cfg.topology().balancer()), "bench-preload");
         ConfirmingPublisher pub = new ConfirmingPublisher(conn.createChannel(), 5000)) {
      List<CompletableFuture<Void>> fs = new ArrayList<>(rows.size());
      var props = new com.rabbitmq.client.AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").build();
      for (Telemetry t : rows) {
        fs.add(pub.publish(cfg.topology().names().cloudIngress(), "telemetry." + t.deviceId(), props, codec.encode(t)));
      }
      CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
    }
  }

  @Command(name = "index", mixinStandardHelpOptions = true,
      description = "Indexer vs. broker alone vs. raw bulk loading, same documents, same run.")
  static final class Index extends Base {
    @Override
    String sink() {
      return "elk";
    }

    @Override
    boolean needsSearch() {
      return true;
    }

    @Option(names = "--latest-state", arity = "1", defaultValue = "true", paramLabel = "true|false",
        description = "indexer.latestState for the run: the indexer and the engine-alone baseline both write the"
            + " latest-state documents, or both do not (default: ${DEFAULT-VALUE}, the config default).")
    boolean latestState;

    @Override
    String commandSuffix() {
      return latestState ? "" : " --latest-state false";
    }

    @Override
    String editYaml(String yaml) {
      return latestState ? yaml : yaml.replaceFirst("(?m)^(  indexPrefix: .*)$", "$1\n  latestState: false");
    }

    @Override
    double engineAlone(LocalStack stack, IotpipeConfig cfg, List<Telemetry> rows) {
      return RawBulkLoader.load(cfg.indexer(), rows, cfg.indexer().consumer().batchMax());
    }

    @Override
    void extra(LocalStack stack, Map<String, Object> r, int phases) {
      r.put("latestState", latestState);
      r.put("engineAloneWrites", latestState ? "events + one latest-state document per device per bulk (as the indexer)" : "events only (as the indexer)");
    }
  }

  @Command(name = "store", mixinStandardHelpOptions = true,
      description = "Storage writer vs. broker alone vs. Parquet writer from memory, same rows, same run.")
  static final class Store extends Base {
    @Override
    String sink() {
      return "storage";
    }

    @Override
    boolean needsSearch() {
      return false;
    }

    @Option(names = "--lake", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Also drain the lake role (Iceberg on the stack's S3 server) each round, at the --xmx heap: issue 19's"
            + " side-by-side ratios (default: on; --no-lake skips it and the S3 server).")
    boolean withLake;

    @Option(names = "--camel", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Also drain the Apache Camel route (module iotpipe-bench-camel) each round, at the --xmx heap"
            + " (default: on; --no-camel skips it).")
    boolean withCamel;

    @Option(names = "--lake-commit-interval", paramLabel = "DURATION",
        description = "lake.commitInterval for the run (e.g. 1s; default: the config default).")
    String lakeCommitInterval;

    @Option(names = "--lake-min-commit-spacing", paramLabel = "DURATION",
        description = "lake.minCommitSpacing for the run (default: the config default): the lake role's clock period (each"
            + " tick hands off what is buffered, acked then) and the least time between two commits (snapshots).")
    String lakeSpacing;

    @Override
    String editYaml(String yaml) {
      // the stack's lake section (LocalStack) names the table on a line of its own: the settings go beside it
      String extra = (lakeCommitInterval == null ? "" : "\n  commitInterval: " + lakeCommitInterval)
          + (lakeSpacing == null ? "" : "\n  minCommitSpacing: " + lakeSpacing);
      return extra.isEmpty() ? yaml : yaml.replaceFirst("(?m)^(  table: .*)$", "$1" + java.util.regex.Matcher.quoteReplacement(extra));
    }

    @Override
    boolean lake() {
      return withLake;
    }

    @Option(names = "--freshness-seconds", defaultValue = "30",
        description = "Seconds of the lake's device-to-queryable phase after the rounds, publishing at half the lake's"
            + " measured drain rate (default: ${DEFAULT-VALUE}; 0: skip it).")
    int freshness;

    @Override
    int freshnessSeconds() {
      return freshness;
    }

    @Override
    boolean camel() {
      return withCamel;
    }

    @Override
    String commandSuffix() {
      return (withLake ? "" : " --no-lake") + (withCamel ? "" : " --no-camel") + (freshness == 30 ? "" : " --freshness-seconds " + freshness)
          + (lakeCommitInterval == null ? "" : " --lake-commit-interval " + lakeCommitInterval)
          + (lakeSpacing == null ? "" : " --lake-min-commit-spacing " + lakeSpacing);
    }

    @Override
    double engineAlone(LocalStack stack, IotpipeConfig cfg, List<Telemetry> rows) throws Exception {
      ParquetFormat f = new ParquetFormat(new StoreSchema(cfg.storage().metrics()));
      Path tmp = Files.createTempDirectory("bench-parquet");
      long t0 = System.nanoTime();
      // Files as big as the sink's (it rolls at a share of the prefetch), so both do the same per-file work.
      int chunk = (int) Math.min(cfg.storage().rollRows(), (long) (cfg.storage().consumer().prefetch() * StorageSink.ROLL_SHARE_OF_PREFETCH));
      for (int i = 0; i < rows.size(); i += chunk) {
        Path file = tmp.resolve("f" + i + ".parquet");
        f.write(file, rows.subList(i, Math.min(rows.size(), i + chunk)), System.currentTimeMillis());
      }
      return rows.size() / ((System.nanoTime() - t0) / 1e9);
    }

    @Override
    void extra(LocalStack stack, Map<String, Object> r, int phases) throws Exception {
      long bytes = 0;
      long files = 0;
      for (Path dir : Files.list(stack.dir()).filter(p -> p.getFileName().toString().endsWith("-store")).toList()) {
        for (Path f : StorageSink.dataFiles(dir, "parquet")) {
          bytes += Files.size(f);
          files++;
        }
      }
      r.put("parquetFilesPerPhase", files / Math.max(1, phases));
      Map<String, Object> c = new LinkedHashMap<>();
      double count = PromText.sum(lastPage, "iotpipe_storage_commit_seconds_count", Map.of());
      c.put("count", Math.round(count));
      c.put("meanMs", count == 0 ? 0 : Math.round(PromText.sum(lastPage, "iotpipe_storage_commit_seconds_sum", Map.of()) / count * 1000));
      c.put("maxMs", Math.round(PromText.sum(lastPage, "iotpipe_storage_commit_seconds_max", Map.of()) * 1000));
      r.put("commitTimesOfLastPhase", c);
      r.put("bytesPerRowOnDisk", Math.round(bytes * 10.0 / ((long) messages * phases)) / 10.0);
    }
  }
}
