package io.iotpipe.slo.report;

import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.Slos.Slo;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Each SLO's SLI over the period, the error budget left, and the burn-rate alerts active, read from a Prometheus.
 * The SLI comes from the recorded series when the generated rules are loaded there, else from the same PromQL
 * evaluated directly, so the report also works against a Prometheus that only scrapes.
 */
public final class SloReport {

  /**
   * @param sli          good share over the period; NaN when there was no traffic (or no data)
   * @param budgetLeft   share of the error budget not spent (1 untouched, negative overspent); NaN without data
   * @param source       where the figures came from: rules (recorded series), direct (PromQL here), none (no data)
   * @param alerts       burn-rate alerts of this SLO, "severity long/short state since"
   */
  public record Line(String slo, String sink, double objective, String describe, double sli, double budgetLeft,
                     String source, List<String> alerts) {}

  /** @param alertsFiring every firing alert, any name: "alertname {labels}" */
  public record Report(String prometheus, String period, List<Line> slos, List<String> alertsFiring) {}

  private SloReport() {}

  public static Report query(PrometheusApi api, String url, List<Slo> slos, Duration period) throws IOException {
    String p = Slos.promDuration(period);
    List<PrometheusApi.Alert> alerts = api.alerts();
    List<Line> lines = new ArrayList<>();
    for (Slo slo : slos) {
      List<PrometheusApi.Sample> recorded = api.query(SloMetrics.errorRatio(p) + slo.selector());
      boolean fromRules = !recorded.isEmpty();
      double errors = fromRules ? recorded.getFirst().value() : first(api.query(slo.errorRatio(p)));
      double sli = 1 - errors;
      double budgetLeft = 1 - errors / slo.budget();
      List<String> mine = alerts.stream()
          .filter(a -> SloMetrics.ALERT.equals(a.labels().get("alertname")) && slo.name().equals(a.labels().get("slo"))
              && slo.sink().equals(a.labels().get("sink")))
          .map(a -> a.labels().get("severity") + " " + a.labels().get("long") + "/" + a.labels().get("short") + " " + a.state()
              + " since " + a.activeAt())
          .toList();
      String source = fromRules ? "rules" : Double.isNaN(errors) ? "none" : "direct";
      lines.add(new Line(slo.name(), slo.sink(), slo.objective(), slo.describe(), sli, budgetLeft, source, mine));
    }
    List<String> firing = alerts.stream().filter(a -> a.state().equals("firing"))
        .map(a -> a.labels().get("alertname") + " " + a.labels()).toList();
    return new Report(url, p, lines, firing);
  }

  private static double first(List<PrometheusApi.Sample> s) {
    return s.isEmpty() ? Double.NaN : s.getFirst().value();
  }

  /** The report as a table for people. */
  public static String text(Report r) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "SLOs over %s from %s%n", r.period(), r.prometheus()));
    b.append(String.format(Locale.ROOT, "%-13s %-9s %10s %10s %12s  %s%n", "slo", "sink", "objective", "SLI", "budget left", "alerts"));
    for (Line l : r.slos()) {
      b.append(String.format(Locale.ROOT, "%-13s %-9s %10s %10s %12s  %s%n", l.slo(), l.sink(), Slos.percent(l.objective()),
          Double.isNaN(l.sli()) ? "no data" : String.format(Locale.ROOT, "%.4f%%", l.sli() * 100),
          Double.isNaN(l.budgetLeft()) ? "no data" : String.format(Locale.ROOT, "%.1f%%", l.budgetLeft() * 100),
          l.alerts().isEmpty() ? "-" : String.join("; ", l.alerts())));
    }
    b.append(r.alertsFiring().isEmpty() ? "alerts firing: none\n" : "alerts firing:\n  " + String.join("\n  ", r.alertsFiring()) + "\n");
    if (r.slos().stream().anyMatch(l -> l.source().equals("direct"))) {
      b.append("note: some figures were computed directly: load the rules of `iotpipe slo rules` into this Prometheus for recorded series and alerts\n");
    }
    return b.toString();
  }
}
