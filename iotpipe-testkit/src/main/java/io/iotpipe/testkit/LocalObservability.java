package io.iotpipe.testkit;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.prom.LocalPrometheus;
import io.iotpipe.slo.report.AlertTimeline;
import io.iotpipe.slo.report.PrometheusApi;
import io.iotpipe.slo.report.SloReport;
import io.iotpipe.slo.rules.SloRules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real Prometheus (Debian package) beside a local pipeline: scrapes the roles' {@code /metrics} and the brokers'
 * rabbitmq_prometheus endpoint, evaluates the SLO rules generated from the config's {@code slo:} section (real
 * windows), and reports each SLI, the budget left, the alerts that fired, the scrape targets and the queue depths.
 * Rules are loaded once every sink's health has been scraped, so a fresh server's empty history does not count as
 * an outage. Used by {@code demo --observability} and by the chaos scenarios.
 */
public final class LocalObservability implements AutoCloseable {

  /** The demo's rules: real windows and {@code for:} durations, evaluated every 5 s. */
  public static final SloRules.Options DEMO_RULES = new SloRules.Options(Duration.ofSeconds(5), null);

  /**
   * The chaos scenarios' rules: real windows (30-day objective, 1 h / 5 m page at 14.4x ...), evaluated every second;
   * only {@code for:} is shortened to 10 s so a scenario fits minutes, not hours.
   */
  public static final SloRules.Options CHAOS_RULES = new SloRules.Options(Duration.ofSeconds(1), Duration.ofSeconds(10));

  /** One scrape target and whether its last scrape worked. */
  public record Target(String job, String instance, boolean up) {}

  private final LocalPrometheus prometheus;
  private final PrometheusApi api;
  private final AlertTimeline timeline;
  private final List<Slos.Slo> slos;
  private final Duration window;
  private volatile Instant lastPoll = Instant.now();
  private ScheduledExecutorService poller;

  private LocalObservability(LocalPrometheus prometheus, List<Slos.Slo> slos, Duration window) {
    this.prometheus = prometheus;
    this.api = new PrometheusApi(prometheus.url());
    this.timeline = new AlertTimeline(api::alerts);
    this.slos = slos;
    this.window = window;
  }

  /** Starts Prometheus in {@code dir} scraping {@code targets} (host:port) and loads the SLO rules of {@code cfg}. */
  public static LocalObservability start(Path dir, IotpipeConfig cfg, List<String> targets) throws IOException, InterruptedException {
    return start(dir, cfg, targets, List.of(), null, DEMO_RULES);
  }

  /**
   * As above, also scraping the brokers' rabbitmq_prometheus listeners ({@code brokerTargets}, over https verified
   * against {@code brokerCa} when non-null) for per-queue depths, with rule options {@code rules}.
   */
  public static LocalObservability start(Path dir, IotpipeConfig cfg, List<String> targets, List<String> brokerTargets, Path brokerCa,
                                         SloRules.Options rules) throws IOException, InterruptedException {
    List<Slos.Slo> slos = Slos.of(cfg.slo(), cfg.topology().sinks());
    List<LocalPrometheus.Job> jobs = new ArrayList<>(List.of(new LocalPrometheus.Job("iotpipe", targets)));
    if (!brokerTargets.isEmpty()) {
      LocalPrometheus.Job brokers = LocalPrometheus.Job.rabbitmqQueues("rabbitmq", brokerTargets);
      jobs.add(brokerCa == null ? brokers : brokers.overTls(brokerCa));
    }
    LocalPrometheus prom = LocalPrometheus.start(dir, jobs, List.of(), Duration.ofSeconds(1));
    LocalObservability o = new LocalObservability(prom, slos, cfg.slo().window());
    try {
      // every sink's health scraped at least once (the roles may run as one process or one per sink)
      long sinks = cfg.topology().sinks().size();
      if (!o.await(Duration.ofSeconds(60), () -> o.count(SloMetrics.PROM_SINK_HEALTH) >= sinks)) {
        throw new IOException("prometheus did not scrape the roles' health within 60 s (targets " + targets + ")");
      }
      Path file = dir.resolve("slo.rules.yml");
      Files.writeString(file, SloRules.yaml(slos, cfg.slo().window(), rules));
      prom.reload(jobs, List.of(file), Duration.ofSeconds(1));
      return o;
    } catch (IOException | InterruptedException | RuntimeException e) {
      prom.close();
      throw e;
    }
  }

  private double count(String metric) {
    try {
      return api.query("count(" + metric + ")").stream().mapToDouble(PrometheusApi.Sample::value).findFirst().orElse(0);
    } catch (IOException e) {
      return 0;
    }
  }

  private boolean await(Duration max, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      TimeUnit.MILLISECONDS.sleep(250); // polling Prometheus' first scrapes
    }
    return true;
  }

  public java.net.URI url() {
    return prometheus.url();
  }

  /** Records alert transitions since the last poll (call every few seconds, or {@link #pollEverySecond}). */
  public void poll() {
    try {
      timeline.poll(Instant.now());
      lastPoll = Instant.now();
    } catch (IOException e) {
      // Prometheus busy: the next poll sees the same state
    }
  }

  /** Polls the alerts every second on a thread of its own until {@link #close} (Prometheus keeps no alert history). */
  public synchronized LocalObservability pollEverySecond() {
    if (poller == null) {
      poller = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("alert-poller").daemon().unstarted(r));
      poller.scheduleWithFixedDelay(this::poll, 0, 1, TimeUnit.SECONDS);
    }
    return this;
  }

  public List<AlertTimeline.Event> alertEvents() {
    return timeline.events();
  }

  /**
   * Polls until an alert matching {@code labels} reached {@code state} (firing, resolved); seconds since
   * {@code from}, NaN when it did not happen within {@code max}.
   */
  public double awaitAlert(Map<String, String> labels, String state, Instant from, Duration max) throws InterruptedException {
    Instant end = from.plus(max);
    while (Instant.now().isBefore(end)) {
      poll();
      if (timeline.reached(labels, state)) {
        return Duration.between(from, Instant.now()).toMillis() / 1000.0;
      }
      TimeUnit.MILLISECONDS.sleep(500); // polling interval of a measurement
    }
    return Double.NaN;
  }

  /** Each alert that fired, seconds after {@code faultStart}, and when it resolved, seconds after {@code faultEnd}. */
  public String alertSummary(Instant faultStart, Instant faultEnd) {
    poll();
    return AlertTimeline.summary(timeline.spans(), faultStart, faultEnd, lastPoll);
  }

  public List<AlertTimeline.Span> alertSpans() {
    poll();
    return timeline.spans();
  }

  /** Every scrape target, from Prometheus' {@code up} series. */
  public List<Target> targets() throws IOException {
    return api.query("up").stream()
        .map(s -> new Target(s.labels().get("job"), s.labels().get("instance"), s.value() == 1))
        .sorted(java.util.Comparator.comparing(Target::job).thenComparing(Target::instance)).toList();
  }

  /**
   * Messages (ready + unacked) per queue whose name starts with {@code prefix.}, as the brokers' rabbitmq_prometheus
   * reports them (summed over the nodes reporting a queue): now, or with {@code over} non-null the highest depth
   * scraped during that last stretch of time.
   */
  public Map<String, Long> queueDepths(String prefix, Duration over) throws IOException {
    Map<String, Long> out = new TreeMap<>();
    // a PromQL raw string (backticks): the RE2 escapes need no second level
    String re = prefix.replaceAll("([.\\\\+*?()\\[\\]{}|^$])", "\\\\$1") + "\\..*";
    String series = SloMetrics.RABBIT_DETAILED_QUEUE_MESSAGES + "{queue=~`" + re + "`}";
    String q = over == null ? "sum by (queue) (" + series + ")"
        : "max by (queue) (max_over_time(" + series + "[" + Slos.promDuration(Duration.ofSeconds(Math.max(1, over.toSeconds()))) + "]))";
    for (var s : api.query(q)) {
      out.put(s.labels().get("queue"), Math.round(s.value()));
    }
    return out;
  }

  /** Each SLI, the budget left and the alerts, as Prometheus computes them now. */
  public SloReport.Report report() throws IOException {
    return SloReport.query(api, prometheus.url().toString(), slos, window);
  }

  @Override
  public void close() {
    synchronized (this) {
      if (poller != null) {
        poller.shutdownNow();
      }
    }
    prometheus.close();
  }
}
