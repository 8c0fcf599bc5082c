package io.iotpipe.tools.demo;

import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.testkit.LocalStack;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.runtime.consume.ConsumerStats;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe demo}: the whole system of the design on this machine, verified. Starts the nodes, applies the
 * topology, runs the indexer and the storage writer, drives a fleet, drains, then audits both sinks against what
 * the fleet had confirmed, and writes an HTML report. Ctrl-C stops everything at any moment.
 *
 * <p>Secure by default: TLS-only listeners, no {@code guest}, the shovel and each sink role on its own
 * least-privilege account, every simulated device enrolled and connecting with its own identity over TLS.
 * {@code --insecure} runs the plaintext stack instead; the summary, {@code --json} and the report say which ran.
 *
 * <p>The lake (unless {@code --no-lake}): a real S3 API server (s3proxy) with its own generated keys, which the
 * configs name only as {@code ${ENV}} references, and the {@code lake} role committing an Iceberg table there; the
 * audit reads the table back, and the summary says where it is and how to read it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the whole pipeline locally (edge + cloud RabbitMQ, OpenSearch, indexer, storage writer, an Iceberg table "
        + "on a local S3 API server, device fleet), "
        + "verify nothing was lost or doubled, and write an HTML report.")
public final class DemoCommand implements IotpipeCommand, java.util.concurrent.Callable<Integer> {

  @Option(names = "--devices", defaultValue = "300", description = "Fleet size (default: ${DEFAULT-VALUE}).")
  int devices;

  @Option(names = "--rate", defaultValue = "600", description = "Fleet messages per second at peak (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(names = "--duration", defaultValue = "60s", description = "How long the fleet publishes (default: ${DEFAULT-VALUE}).")
  String duration;

  @Option(names = "--profile", defaultValue = "diurnal", description = "flat | diurnal | burst; diurnal compresses a day into the run (default: ${DEFAULT-VALUE}).")
  SimulatorConfig.LoadShape profile;

  @Option(names = "--protocol", defaultValue = "amqp", description = "amqp | mqtt (default: ${DEFAULT-VALUE}).")
  SimulatorConfig.Protocol protocol;

  @Option(names = "--insecure", description = "Run the plain stack instead: plaintext AMQP/MQTT/HTTP, the guest account everywhere,"
      + " devices unauthenticated (default: secured).")
  boolean insecure;

  @Option(names = "--credentials", defaultValue = "certificate", description = "How each enrolled device proves who it is in secure mode:"
      + " certificate (X.509, CN = device id) | password (default: ${DEFAULT-VALUE}).")
  io.iotpipe.security.Enrollment.Credential credentials;

  @Option(names = "--cloud-nodes", defaultValue = "1", description = "Cloud cluster size, 1 or 3 (default: ${DEFAULT-VALUE}).")
  int cloudNodes;

  @Option(names = "--partitions", defaultValue = "4", description = "Partitions (default: ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--dir", description = "Where nodes, files and the report go (default: data/demo-<timestamp>).")
  Path dir;

  @Option(names = "--search-url", description = "Use this Elasticsearch/OpenSearch (http(s)://host:9200) instead of starting an embedded OpenSearch; "
      + "credentials from IOTPIPE_SEARCH_USER + IOTPIPE_SEARCH_PASSWORD (or IOTPIPE_SEARCH_API_KEY), a private CA from IOTPIPE_SEARCH_CA.")
  java.net.URI searchUrl;

  @Option(names = "--keep-running", description = "Leave brokers, OpenSearch and the pipeline running after the verification (Ctrl-C stops them).")
  boolean keepRunning;

  @Option(names = "--json", description = "Print the summary as JSON.")
  boolean json;

  @Option(names = "--observability", description = "Also run a real Prometheus (Debian package `prometheus`) scraping the roles,"
      + " with the SLO rules of the config: the report and the summary show each SLI, the budget left and the alerts that fired.")
  boolean observability;

  @Option(names = "--no-lake", description = "Leave out the lake (its S3 API server and the Iceberg table role).")
  boolean noLake;

  @Option(names = "--tenants", split = ",", paramLabel = "ID", description = "Split the fleet over these tenants (round robin,"
      + " through a tenant registry the roles read); a device of the first then claims the second in a reading, which must be"
      + " dead-lettered with the reason (secure mode, certificates).")
  List<String> tenantIds;

  private final Output out = new Output();

  @Override
  public Integer call() throws Exception {
    if (cloudNodes != 1 && cloudNodes != 3) {
      throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, "--cloud-nodes must be 1 or 3");
    }
    Duration d = io.iotpipe.tools.simulate.SimulateCommand.parseDuration(duration);
    Path base = dir != null ? dir : Path.of("data", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    List<AutoCloseable> resources = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch finished = new CountDownLatch(1);
    // Ctrl-C at any point: close whatever was started, newest first, so nothing is left running.
    Thread hook = new Thread(() -> {
      if (finished.getCount() > 0) {
        out.endProgress();
        out.info("demo: interrupted, stopping everything ...");
      }
      closeAll(resources);
    }, "demo-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    long t0 = System.nanoTime();
    // Files roll every 10 s in the demo so the store is visible quickly; production keeps 60 s for bigger files.
    LocalStack.Security security = insecure ? LocalStack.Security.INSECURE : LocalStack.Security.secure(credentials);
    DemoTenants tenants = null;
    String storageYaml = "  rollAge: 10s";
    if (tenantIds != null) {
      if (insecure || credentials != io.iotpipe.security.Enrollment.Credential.CERTIFICATE) {
        throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, "--tenants needs the secured stack with certificate devices (drop --insecure / --credentials password)");
      }
      try {
        tenants = new DemoTenants(tenantIds);
      } catch (IllegalArgumentException e) {
        throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, e.getMessage());
      }
      // the storage section's lines come last in it: a top-level section after them starts a new one
      storageYaml += "\n" + DemoTenants.yaml(base.resolve("tenants.tsv"));
    }
    LocalStack stack = LocalStack.start(base.toAbsolutePath(), cloudNodes, partitions, storageYaml, true, searchUrl, security, !noLake, out::info);
    resources.add(stack);
    IotpipeConfig cfg = stack.config();
    out.info(String.format("demo: infrastructure ready in %.0f s; config for further commands: %s", (System.nanoTime() - t0) / 1e9, stack.configFile()));

    io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry =
        new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    // Each role as its own broker account in secure mode (the same config in insecure mode).
    PipelineRunner runner = new PipelineRunner(stack.roleConfigs(cfg), "demo", registry).start();
    resources.add(runner);
    io.iotpipe.testkit.LocalObservability obs = null;
    if (observability) {
      io.iotpipe.runtime.HealthServer health = new io.iotpipe.runtime.HealthServer("127.0.0.1", 0, runner, registry);
      resources.add(health);
      obs = io.iotpipe.testkit.LocalObservability.start(base.resolve("prometheus").toAbsolutePath(), cfg,
          List.of("127.0.0.1:" + health.port()), stack.brokers().prometheusTargets(),
          insecure ? null : stack.secured().pki().caCert(), io.iotpipe.testkit.LocalObservability.DEMO_RULES);
      resources.add(obs);
      out.info("demo: Prometheus at " + obs.url() + " scrapes the roles and the brokers' rabbitmq_prometheus (edge, cloud) and evaluates the SLO rules");
    }
    final io.iotpipe.testkit.LocalObservability watching = obs;

    Simulation.Options o = Simulation.Options.from(cfg.simulator()).with(devices, rate, d, 0).withProfile(profile, protocol);
    if (tenants != null) {
      tenants.assign(io.iotpipe.core.tenant.TenantsSection.registry(cfg), Simulation.deviceIds(o));
      out.info("demo: " + devices + " devices split over tenants " + String.join(", ", tenantIds) + " in " + base.resolve("tenants.tsv"));
    }
    if (!insecure) {
      out.info("demo: enrolling " + devices + " devices (" + credentials.name().toLowerCase() + " each) and connecting each over TLS ...");
    }
    Simulation sim = stack.simulation(cfg, o, out::progress);
    out.endProgress();
    resources.add(sim);
    List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    Map<String, Double> cpu0 = cpu(stack);
    long start = System.nanoTime();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    resources.add(sampler::shutdownNow);
    sampler.scheduleAtFixedRate(() -> {
      try {
        Sample s = sample(stack, sim, runner, (System.nanoTime() - start) / 1e9);
        samples.add(s);
        if (watching != null) {
          watching.poll();
        }
        out.progress(String.format("%4.0fs published %d confirmed %d | indexed %d stored %d dead-lettered %d | queued edge %d elk %d storage %d | latency p50 %s p99 %s ms",
            s.atSeconds(), s.published(), s.confirmed(), s.indexed(), s.stored(), s.deadLettered(), s.edgeQueue(), s.elkQueue(),
            s.storageQueue(), fmt(runner.consumers().get(Role.of("index")).latencyPercentile(0.5)),
            fmt(runner.consumers().get(Role.of("index")).latencyPercentile(0.99))));
      } catch (RuntimeException e) {
        // a sample missed while shutting down
      }
    }, 1, 1, TimeUnit.SECONDS);

    out.info(String.format("demo: %d devices (%s, %s) publishing for %s at up to %.0f msg/s", devices, profile.name().toLowerCase(),
        protocol.name().toLowerCase(), duration, rate));
    SimulationResult published = sim.run(null);
    Ledger ledger = sim.ledger();
    ledger.write(base.resolve("ledger.json"));
    String forgedReason = null;
    if (tenants != null) {
      out.info("demo: device " + tenants.forger() + " (tenant " + tenantIds.get(0) + ") publishes a reading claiming tenant " + tenantIds.get(1) + " ...");
      forgedReason = tenants.forgeClaim(cfg, stack.deviceCredentials());
      out.info("demo: dead-lettered with: " + forgedReason);
    }

    // Drain: every confirmed reading must reach every sink; the store commits within its roll age, the lake each second.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
    while (System.nanoTime() < deadline) {
      boolean drained = true;
      for (Map.Entry<Role, ConsumerStats> e : runner.stats().entrySet()) {
        ConsumerStats st = e.getValue();
        drained &= st.delivered() + st.deadLettered() >= ledger.confirmed() && st.pending() == 0 && stack.depth(e.getKey().sink()) == 0;
      }
      if (drained) {
        break;
      }
      TimeUnit.MILLISECONDS.sleep(500); // polling interval of the drain wait
    }
    sampler.shutdown();
    Map<String, Double> cpu1 = cpu(stack);
    samples.add(sample(stack, sim, runner, (System.nanoTime() - start) / 1e9));
    out.endProgress();
    Map<Long, Long> histogram = runner.consumers().get(Role.of("index")).latencyHistogram();
    double p50 = runner.consumers().get(Role.of("index")).latencyPercentile(0.5);
    double p99 = runner.consumers().get(Role.of("index")).latencyPercentile(0.99);
    double storeP50 = runner.consumers().get(Role.of("store")).latencyPercentile(0.5);
    double lakeP50 = noLake ? Double.NaN : runner.consumers().get(Role.of("lake")).latencyPercentile(0.5);
    long deadLettered = runner.stats().values().stream().mapToLong(ConsumerStats::deadLettered).sum();
    // Read while the roles still run: once closed, their health would count as an outage.
    Map<String, Object> observed = new LinkedHashMap<>();
    Map<String, Object> observedRows = new LinkedHashMap<>();
    if (watching != null) {
      observe(watching, cfg, (System.nanoTime() - start) / 1e9, observed, observedRows);
    }
    // The drain above waited for every row to be committed and acked; closing flushes anything left.
    if (!keepRunning) {
      runner.close(Duration.ofSeconds(60));
    }
    out.info("demo: verifying both sinks against the ledger ...");
    Completeness.Result es = Auditor.search(cfg.indexer(), ledger);
    Completeness.Result st = Auditor.store(cfg.storage().dir(), ledger);
    Completeness.Result lk = null;
    Map<String, Object> lakeTable = null;
    if (!noLake) {
      io.iotpipe.lake.LakeSection.Settings ls = cfg.section(io.iotpipe.lake.LakeSection.SECTION);
      lk = io.iotpipe.cli.lake.LakeAudit.audit(ls, ledger);
      try (io.iotpipe.lake.LakeReader r = new io.iotpipe.lake.LakeReader(ls)) {
        lakeTable = r.describe();
      }
    }
    long lakeLost = lk == null ? 0 : lk.lost();
    long lakeDuplicates = lk == null ? 0 : lk.duplicates();

    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("published", published.published());
    summary.put("confirmed", published.confirmed());
    summary.put("indexed", es.present());
    summary.put("stored", st.present());
    if (lk != null) {
      summary.put("inLake", lk.present());
    }
    summary.put("deadLettered", deadLettered);
    summary.put("lost", es.lost() + st.lost() + lakeLost);
    summary.put("duplicates", es.duplicates() + st.duplicates() + lakeDuplicates);
    Map<String, Object> lat = new LinkedHashMap<>();
    lat.put("p50", Math.round(p50));
    lat.put("p99", Math.round(p99));
    summary.put("latencyMs", lat);
    summary.put("storageVisibilityP50Ms", Math.round(storeP50));
    if (!noLake) {
      summary.put("lakeVisibilityP50Ms", Math.round(lakeP50));
    }
    summary.put("publishRatePerSecond", Math.round(published.rate()));
    summary.put("nacked", published.nacked());
    Map<String, Object> cpuSeconds = new LinkedHashMap<>();
    cpu1.forEach((k, v) -> cpuSeconds.put(k, Math.round((v - cpu0.get(k)) * 10) / 10.0));
    summary.put("cpuSecondsFleetToDrained", cpuSeconds);
    summary.put("devices", devices);
    summary.put("partitions", partitions);
    summary.put("cloudNodes", cloudNodes);
    summary.put("seconds", Math.round((System.nanoTime() - t0) / 1e9));
    summary.put("dataDir", base.toAbsolutePath().toString());
    if (lakeTable != null) {
      summary.put("lakeTable", lakeTable);
    }
    Map<String, Object> sec = stack.securitySummary();
    summary.put("security", sec);
    if (tenants != null) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("registry", base.resolve("tenants.tsv").toAbsolutePath().toString());
      t.put("tenants", tenants.summary(ledger));
      t.put("forgedClaimDevice", tenants.forger());
      t.put("forgedClaimReason", forgedReason);
      summary.put("tenants", t);
    }
    Path report = base.resolve("report.html").toAbsolutePath();
    summary.put("reportFile", report.toString());
    // The report speaks to a person (labels, units); --json below keeps the machine keys.
    Map<String, String> rendered = new LinkedHashMap<>();
    rendered.put("security", securityLine(sec));
    if (lakeTable != null) {
      rendered.put("lakeTable", lakeLine(lakeTable));
    }
    Map<String, String> table = SummaryText.rows(summary, rendered);
    table.put("search (audit)", "present " + es.present() + ", lost " + es.lost() + ", duplicates " + es.duplicates());
    table.put("store (audit)", "present " + st.present() + ", lost " + st.lost() + ", duplicates " + st.duplicates());
    if (lk != null) {
      table.put("lake (audit)", "present " + lk.present() + ", lost " + lk.lost() + ", duplicates " + lk.duplicates());
    }
    summary.putAll(observed);
    observedRows.forEach((k, v) -> table.put(k, String.valueOf(v)));
    boolean ok = es.complete() && st.complete() && (lk == null || lk.complete());
    HtmlReport.write(report, ok, table, samples, histogram);
    if (json) {
      out.printJson(summary);
    } else {
      System.out.println();
      System.out.printf("verdict: %s%n", ok ? "COMPLETE: every confirmed reading is searchable and stored exactly once"
          + (lk == null ? "" : ", in the files and in the lake's table") : "INCOMPLETE");
      System.out.printf("published %d, confirmed %d, indexed %d, stored %d%s, dead-lettered %d, lost %d, duplicates %d%n",
          published.published(), published.confirmed(), es.present(), st.present(), lk == null ? "" : ", in the lake " + lk.present(),
          deadLettered, es.lost() + st.lost() + lakeLost, es.duplicates() + st.duplicates() + lakeDuplicates);
      System.out.printf("end-to-end latency to search: p50 %s ms, p99 %s ms; storage visibility p50 %s ms (files roll every %s)%s%n",
          fmt(p50), fmt(p99), fmt(storeP50), cfg.storage().rollAge(), noLake ? "" : "; lake visibility p50 " + fmt(lakeP50) + " ms");
      System.out.println("security: " + securityLine(sec));
      if (lakeTable != null) {
        System.out.println("lake: " + lakeLine(lakeTable));
      }
      observedRows.forEach((k, v) -> System.out.println(k + ": " + v));
      System.out.println("report: " + report.toUri());
      System.out.println();
      System.out.println("explore:");
      if (!insecure) {
        // The config reads the administrator's password from the environment; the password itself is never printed.
        System.out.println("  export " + io.iotpipe.security.SecureLocalStack.PASSWORD_ENV + "=\"$(cat "
            + stack.passwordFile(stack.secured().adminUser()) + ")\"   # the config's broker account (" + stack.secured().adminUser() + ")");
      }
      // with a lake: section, query reads the lake by default; the file store is one option away
      System.out.println("  ./iotpipe query --config " + stack.configFile() + (lakeTable != null ? " --from store" : "")
          + " \"SELECT region, count(*), round(avg(powerKw),1) AS kw FROM telemetry GROUP BY 1\"");
      if (cfg.indexer().latestState()) {
        System.out.println("  curl -s '" + cfg.indexer().urls().get(0) + "/" + cfg.indexer().latestIndex() + "/_search?size=3&pretty'");
      }
      if (lakeTable != null) {
        // The lake's keys, like the broker password: from their 0600 files into the environment, never on the screen.
        System.out.println("  export " + LocalStack.LAKE_ACCESS_KEY_ENV + "=\"$(cat " + stack.lakeKeyFile(false) + ")\" "
            + LocalStack.LAKE_SECRET_KEY_ENV + "=\"$(cat " + stack.lakeKeyFile(true) + ")\"   # the S3 server's keys");
        System.out.println("  ./iotpipe lake info --config " + stack.configFile() + "   # where the Iceberg table is, its snapshot");
        System.out.println("  ./iotpipe lake scan --config " + stack.configFile() + " --limit 5   # rows, read with Iceberg's generic reader");
        System.out.println("  ./iotpipe query --config " + stack.configFile() + " \"SELECT count(*), count(DISTINCT device_id) FROM telemetry\"   # SQL over its current snapshot (--as-of, lake snapshots)");
      }
      System.out.println("  ./iotpipe audit --config " + stack.configFile() + " --ledger " + base.resolve("ledger.json")
          + (lakeTable != null ? " --sink elk,storage,lake" : ""));
    }
    if (keepRunning) {
      out.info("demo: everything keeps running (config " + stack.configFile() + "); Ctrl-C stops it all");
      new CountDownLatch(1).await();
    }
    finished.countDown();
    closeAll(resources);
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // already in shutdown
    }
    return ok ? ExitCode.OK : ExitCode.FAILED;
  }

  /**
   * What Prometheus saw: its scrape targets (roles and brokers) and whether each is up, each SLI with the budget
   * left, the alerts that fired, and the brokers' queue depths per partition (peak during the run, from
   * rabbitmq_prometheus). {@code summary} gets the JSON form, {@code table} the report's rows.
   */
  private static void observe(io.iotpipe.testkit.LocalObservability watching, IotpipeConfig cfg, double runSeconds,
                              Map<String, Object> summary, Map<String, Object> table) throws java.io.IOException {
    watching.poll();
    var targets = watching.targets();
    summary.put("prometheusTargets", targets);
    table.put("Prometheus targets", String.join(", ", targets.stream().map(t -> t.job() + " " + t.instance() + (t.up() ? " up" : " DOWN")).toList()));
    var slo = watching.report();
    List<Map<String, Object>> slis = new ArrayList<>();
    for (var line : slo.slos()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("slo", line.slo());
      m.put("sink", line.sink());
      m.put("objective", line.objective());
      m.put("sli", line.sli());
      m.put("budgetLeft", line.budgetLeft());
      slis.add(m);
      table.put("SLO " + line.slo() + " " + line.sink(), String.format(java.util.Locale.ROOT, "SLI %.4f%% (objective %.2f%%), budget left %.1f%%",
          100 * line.sli(), 100 * line.objective(), 100 * line.budgetLeft()));
    }
    summary.put("slo", slis);
    List<String> fired = watching.alertEvents().stream()
        .map(e -> e.at() + " " + e.state() + " " + e.labels().get("slo") + "/" + e.labels().get("sink") + " " + e.labels().get("severity")
            + " " + e.labels().get("long") + "/" + e.labels().get("short")).toList();
    summary.put("alerts", fired);
    table.put("alerts (Prometheus)", fired.isEmpty() ? "none fired" : String.join("; ", fired));
    Map<String, Long> peaks = watching.queueDepths(cfg.topology().prefix(), Duration.ofSeconds((long) Math.ceil(runSeconds) + 5));
    summary.put("brokerQueuePeakDepths", peaks);
    table.put("broker queue depth, peak per queue (rabbitmq_prometheus)", peaks.isEmpty() ? "no series (broker not scraped?)"
        : String.join(", ", peaks.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()));
  }

  private static void closeAll(List<AutoCloseable> resources) {
    List<AutoCloseable> copy;
    synchronized (resources) {
      copy = new ArrayList<>(resources);
      resources.clear();
    }
    Collections.reverse(copy);
    for (AutoCloseable c : copy) {
      try {
        c.close();
      } catch (Exception e) {
        System.err.println("demo: while stopping: " + e.getMessage());
      }
    }
  }

  /**
   * CPU seconds used so far by each process of the demo: this JVM (fleet simulator and both sink roles), the brokers
   * and the embedded search engine (0 when external).
   */
  static Map<String, Double> cpu(LocalStack stack) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("demoJvm", io.iotpipe.tools.bench.CpuMeter.ownSeconds());
    m.put("edgeBroker", io.iotpipe.tools.bench.CpuMeter.processSeconds(stack.brokers().edge().pid()));
    m.put("cloudBrokers", stack.brokers().cloud().nodes().stream().mapToDouble(n -> io.iotpipe.tools.bench.CpuMeter.processSeconds(n.pid())).sum());
    m.put("searchEngine", stack.search() == null ? 0.0 : io.iotpipe.tools.bench.CpuMeter.processSeconds(stack.search().pid()));
    return m;
  }

  /** Where the lake's table is and what it holds, in one line (no secret: the describe() map has none). */
  static String lakeLine(Map<String, Object> t) {
    return "table " + t.get("table") + " in catalog " + t.get("catalog") + ", warehouse " + t.get("warehouse") + " on the S3 API at "
        + t.get("s3Endpoint") + "; " + t.getOrDefault("rows", 0) + " rows in " + t.getOrDefault("dataFiles", 0) + " data files, "
        + t.getOrDefault("snapshots", 0) + " snapshots; metadata " + t.getOrDefault("metadataFile", "(none yet)");
  }

  /** One line for the console and the report: which mode ran and what secured it. */
  @SuppressWarnings("unchecked")
  static String securityLine(Map<String, Object> sec) {
    if (!Boolean.TRUE.equals(sec.get("tls"))) {
      return "INSECURE (--insecure): plaintext AMQP/MQTT/HTTP, accounts " + sec.get("accountsUsed") + ", guest present "
          + sec.get("guestPresent") + ", devices not authenticated";
    }
    return "SECURE: TLS only on every broker listener, " + sec.get("devicesEnrolled") + " devices enrolled (" + sec.get("deviceCredential")
        + " each, own connection), accounts " + String.join(", ", (List<String>) sec.get("accountsUsed")) + ", guest present "
        + sec.get("guestPresent") + ", search engine over " + (Boolean.TRUE.equals(sec.get("searchTls")) ? "https" : "http");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "-" : String.valueOf(Math.round(v));
  }

  static Sample sample(LocalStack stack, Simulation sim, PipelineRunner runner, double at) {
    Simulation.Progress p = sim.progress();
    Map<Role, ConsumerStats> st = runner.stats();
    Map<String, Long> depths = stack.queueDepths();
    var names = stack.config().topology().names();
    long elk = 0;
    long storage = 0;
    for (int i = 0; i < stack.config().topology().partitions(); i++) {
      elk += depths.getOrDefault(names.sinkQueue("elk", i), 0L);
      storage += depths.getOrDefault(names.sinkQueue("storage", i), 0L);
    }
    return new Sample(at, p.published(), p.confirmed(), st.get(Role.of("index")).delivered(), st.get(Role.of("store")).delivered(),
        st.values().stream().mapToLong(ConsumerStats::deadLettered).sum(), depths.getOrDefault(names.edgeOutbound(), 0L), elk, storage);
  }
}
