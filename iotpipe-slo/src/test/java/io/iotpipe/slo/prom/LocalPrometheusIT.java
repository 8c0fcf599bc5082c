package io.iotpipe.slo.prom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.sink.SinkHealth;
import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.Slos.Slo;
import io.iotpipe.slo.report.AlertTimeline;
import io.iotpipe.slo.report.PrometheusApi;
import io.iotpipe.slo.report.SloReport;
import io.iotpipe.slo.rules.SloRules;
import io.iotpipe.slo.sli.CompletenessTracker;
import io.iotpipe.slo.sli.FreshnessRecorder;
import io.iotpipe.slo.sli.SinkHealthGauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus scrapes a process exporting the SLIs (the real trackers on a real Micrometer Prometheus registry),
 * loads the generated rules, and the page alert goes pending, then firing, while the healthy sink stays quiet.
 * Short evaluation and {@code for} intervals through the rules' options; the windows are the real ones.
 */
class LocalPrometheusIT {

  private final ScheduledExecutorService load = Executors.newSingleThreadScheduledExecutor();
  private HttpServer server;

  @AfterEach
  void stop() {
    load.shutdownNow();
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void aFastBurnGoesPendingThenFiringInARealPrometheus(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // elk loses every other reading (gaps never closed, grace 1 s); storage gets everything
    CompletenessTracker elk = new CompletenessTracker("elk", Duration.ofSeconds(1), 1000, 1_000_000, registry, System::currentTimeMillis);
    CompletenessTracker storage = new CompletenessTracker("storage", Duration.ofSeconds(1), 1000, 1_000_000, registry, System::currentTimeMillis);
    FreshnessRecorder elkFresh = new FreshnessRecorder("elk", Duration.ofSeconds(5), registry);
    SinkHealthGauge.register(registry, "elk", () -> SinkHealth.UP);
    SinkHealthGauge.register(registry, "storage", () -> SinkHealth.UP);
    AtomicLong seq = new AtomicLong();
    load.scheduleAtFixedRate(() -> {
      long s = seq.incrementAndGet();
      for (int d = 0; d < 20; d++) {
        storage.delivered("dev-" + d, s);
        if (s % 2 == 1) {
          elk.delivered("dev-" + d, s);
        }
        long now = System.currentTimeMillis();
        elkFresh.record(now - 100, 0, now - 100, now);
      }
      elk.sweep();
      storage.sweep();
    }, 0, 100, TimeUnit.MILLISECONDS);

    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/metrics", ex -> {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();

    List<String> sinks = List.of("elk", "storage");
    List<Slo> slos = Slos.of(SloConfig.defaults(sinks, Duration.ofSeconds(60)), sinks);
    Path rules = dir.resolve("slo.rules.yml");
    Files.writeString(rules, SloRules.yaml(slos, Duration.ofDays(30), new SloRules.Options(Duration.ofSeconds(1), Duration.ofSeconds(4))));

    try (LocalPrometheus prom = LocalPrometheus.start(dir.resolve("prom"),
        List.of(new LocalPrometheus.Job("iotpipe", List.of("127.0.0.1:" + server.getAddress().getPort()))),
        List.of(rules), Duration.ofSeconds(1))) {
      PrometheusApi api = new PrometheusApi(prom.url());
      AlertTimeline timeline = new AlertTimeline(api::alerts);
      Map<String, String> page = Map.of("alertname", SloMetrics.ALERT, "slo", "completeness", "sink", "elk", "long", "1h");
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(() -> {
        timeline.poll(Instant.now());
        return timeline.reached(page, "firing");
      });
      assertThat(timeline.reached(page, "pending")).as("seen pending before firing (for: 4s): %s", timeline.events()).isTrue();

      List<PrometheusApi.Alert> alerts = api.alerts();
      assertThat(alerts).as("nothing about storage, which lost nothing")
          .noneMatch(a -> "storage".equals(a.labels().get("sink")));
      assertThat(alerts).as("freshness of elk is fine (100 ms)")
          .noneMatch(a -> "freshness".equals(a.labels().get("slo")));

      SloReport.Report report = SloReport.query(api, prom.url().toString(), slos, Duration.ofDays(30));
      SloReport.Line elkLine = report.slos().stream().filter(l -> l.slo().equals("completeness") && l.sink().equals("elk")).findFirst().orElseThrow();
      assertThat(elkLine.source()).isEqualTo("rules");
      assertThat(elkLine.sli()).isBetween(0.3, 0.7);
      assertThat(elkLine.budgetLeft()).isNegative();
      assertThat(elkLine.alerts()).anyMatch(s -> s.startsWith("page 1h/5m firing"));
      SloReport.Line storageLine = report.slos().stream().filter(l -> l.slo().equals("completeness") && l.sink().equals("storage")).findFirst().orElseThrow();
      assertThat(storageLine.sli()).isEqualTo(1.0);
      assertThat(storageLine.budgetLeft()).isEqualTo(1.0);
      assertThat(report.alertsFiring()).isNotEmpty();
      System.out.println(SloReport.text(report));
    }
  }
}
