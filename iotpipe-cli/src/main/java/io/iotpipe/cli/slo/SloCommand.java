package io.iotpipe.cli.slo;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.ConfigUnits;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.dashboard.GrafanaDashboard;
import io.iotpipe.slo.report.PrometheusApi;
import io.iotpipe.slo.report.SloReport;
import io.iotpipe.slo.rules.SloRules;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe slo rules|dashboard|report}: the {@code slo:} section of the config as Prometheus rules, a Grafana dashboard, a report. */
@Command(name = "slo", mixinStandardHelpOptions = true,
    description = "SLOs as code: Prometheus recording rules and burn-rate alerts, a Grafana dashboard, and a report from Prometheus.",
    subcommands = {SloCommand.Rules.class, SloCommand.Dashboard.class, SloCommand.Report.class})
public final class SloCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  static List<Slos.Slo> slos(IotpipeConfig cfg) {
    return Slos.of(cfg.slo(), cfg.topology().sinks());
  }

  static void write(Path out, String text) {
    if (out == null) {
      System.out.print(text.endsWith("\n") ? text : text + "\n");
      return;
    }
    try {
      Files.writeString(out, text.endsWith("\n") ? text : text + "\n");
      System.err.println("wrote " + out.toAbsolutePath());
    } catch (IOException e) {
      throw new CommandFailure(ExitCode.FAILED, "cannot write " + out.toAbsolutePath() + ": " + e.getMessage());
    }
  }

  static Duration duration(String option, String value) {
    Duration d = value == null ? null : ConfigUnits.parseDuration(value);
    if (d == null) {
      throw new CommandFailure(ExitCode.USAGE, option + ": expected a duration like 0s, 30s or 2m, was \"" + value + "\"");
    }
    return d;
  }

  @Command(name = "rules", mixinStandardHelpOptions = true,
      description = {"Prometheus recording rules and multi-window multi-burn-rate alerts (SRE workbook: page at 14.4x over 1h/5m"
          + " and 6x over 6h/30m, ticket at 3x over 1d/2h and 1x over 3d/6h).",
          "Check them with `promtool check rules FILE`; load them with `rule_files:` in prometheus.yml."})
  static final class Rules implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    Path out;

    @Option(names = "--interval", defaultValue = "30s", description = "Evaluation interval of the rule groups (default: ${DEFAULT-VALUE}).")
    String interval;

    @Option(names = "--for", paramLabel = "DURATION",
        description = "The same `for:` for every alert (default: 2m, 15m, 1h, 3h for the four window pairs, as Pyrra does).")
    String forOverride;

    @Override
    public Integer call() {
      IotpipeConfig cfg = config.load();
      SloRules.Options options = new SloRules.Options(duration("--interval", interval),
          forOverride == null ? null : duration("--for", forOverride));
      write(out, SloRules.yaml(slos(cfg), cfg.slo().window(), options));
      return ExitCode.OK;
    }
  }

  @Command(name = "dashboard", mixinStandardHelpOptions = true,
      description = {"An importable Grafana dashboard (JSON): SLIs, error budget left, burn-rate alerts, queue depth per partition"
          + " (rabbitmq_prometheus), sink throughput and lag, open seq gaps, sink health.",
          "Queue depths need rabbitmq_prometheus's per-queue metrics: scrape /metrics/detailed?family=queue_coarse_metrics"
              + " or set prometheus.return_per_object_metrics = true."})
  static final class Dashboard implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    Path out;

    @Override
    public Integer call() {
      IotpipeConfig cfg = config.load();
      write(out, GrafanaDashboard.json(slos(cfg), cfg.slo().window(), cfg.topology().prefix()));
      return ExitCode.OK;
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = "Each SLI over the SLO window, the error budget left and the burn-rate alerts, from a Prometheus HTTP API.")
  static final class Report implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--prometheus", paramLabel = "URL", defaultValue = "http://127.0.0.1:9090",
        description = "Base URL of the Prometheus server (default: ${DEFAULT-VALUE}).")
    URI prometheus;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() {
      IotpipeConfig cfg = config.load();
      SloReport.Report r;
      try {
        r = SloReport.query(new PrometheusApi(prometheus), prometheus.toString(), slos(cfg), cfg.slo().window());
      } catch (IOException e) {
        throw new CommandFailure(ExitCode.FAILED, e.getMessage());
      }
      if (json) {
        new Output().printJson(r);
      } else {
        System.out.print(SloReport.text(r));
      }
      return ExitCode.OK;
    }
  }
}
