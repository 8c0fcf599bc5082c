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
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real Prometheus (Debian package) beside a local pipeline: scrapes the roles' {@code /metrics}, evaluates the SLO
 * rules generated from the config's {@code slo:} section (real windows, 5 s evaluation), and reports each SLI, the
 * budget left and the alerts that fired. Rules are loaded once every sink's health has been scraped, so a fresh
 * server's empty history does not count as an outage.
 */
public final class LocalObservability implements AutoCloseable {

  private final LocalPrometheus prometheus;
  private final PrometheusApi api;
  private final AlertTimeline timeline;
  private final List<Slos.Slo> slos;
  private final Duration window;

  private LocalObservability(LocalPrometheus prometheus, List<Slos.Slo> slos, Duration window) {
    this.prometheus = prometheus;
    this.api = new PrometheusApi(prometheus.url());
    this.timeline = new AlertTimeline(api::alerts);
    this.slos = slos;
    this.window = window;
  }

  /** Starts Prometheus in {@code dir} scraping {@code targets} (host:port) and loads the SLO rules of {@code cfg}. */
  public static LocalObservability start(Path dir, IotpipeConfig cfg, List<String> targets) throws IOException, InterruptedException {
    List<Slos.Slo> slos = Slos.of(cfg.slo(), cfg.topology().sinks());
    var jobs = List.of(new LocalPrometheus.Job("iotpipe", targets));
    LocalPrometheus prom = LocalPrometheus.start(dir, jobs, List.of(), Duration.ofSeconds(1));
    LocalObservability o = new LocalObservability(prom, slos, cfg.slo().window());
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (o.api.query("count(" + SloMetrics.PROM_SINK_HEALTH + ")").stream().noneMatch(s -> s.value() >= slos.size() / 3.0)) {
        if (System.nanoTime() > deadline) {
          throw new IOException("prometheus did not scrape the roles' health within 60 s (targets " + targets + ")");
        }
        TimeUnit.MILLISECONDS.sleep(250); // polling the first scrape
      }
      Path rules = dir.resolve("slo.rules.yml");
      Files.writeString(rules, SloRules.yaml(slos, cfg.slo().window(), new SloRules.Options(Duration.ofSeconds(5), null)));
      prom.reload(jobs, List.of(rules), Duration.ofSeconds(1));
      return o;
    } catch (IOException | InterruptedException | RuntimeException e) {
      prom.close();
      throw e;
    }
  }

  public java.net.URI url() {
    return prometheus.url();
  }

  /** Records alert transitions since the last poll (call every few seconds). */
  public void poll() {
    try {
      timeline.poll(Instant.now());
    } catch (IOException e) {
      // Prometheus busy: the next poll sees the same state
    }
  }

  public List<AlertTimeline.Event> alertEvents() {
    return timeline.events();
  }

  /** Each SLI, the budget left and the alerts, as Prometheus computes them now. */
  public SloReport.Report report() throws IOException {
    return SloReport.query(api, prometheus.url().toString(), slos, window);
  }

  @Override
  public void close() {
    prometheus.close();
  }
}
