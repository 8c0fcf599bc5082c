package io.iotpipe.slo.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.Slos.Slo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An importable Grafana dashboard (JSON model, schema 39): per SLO the SLI over the period and the error budget left,
 * error ratios against their budget, the burn-rate alerts firing, queue depth per partition queue (from
 * rabbitmq_prometheus), sink throughput, lag in messages and in time, open seq gaps and sink health.
 *
 * <p>Grafana is not packaged for Debian here, so the JSON is checked structurally by {@code GrafanaDashboardTest}.
 */
public final class GrafanaDashboard {

  private static final Map<String, String> DATASOURCE = Map.of("type", "prometheus", "uid", "${datasource}");

  private final List<Object> panels = new ArrayList<>();
  private int nextId = 1;
  private int y;
  private int x;
  private int rowHeight;

  private GrafanaDashboard() {}

  public static String json(List<Slo> slos, Duration period, String prefix) {
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(model(slos, period, prefix));
    } catch (Exception e) {
      throw new IllegalStateException("cannot render the dashboard: " + e.getMessage(), e);
    }
  }

  public static Map<String, Object> model(List<Slo> slos, Duration period, String prefix) {
    GrafanaDashboard d = new GrafanaDashboard();
    String p = Slos.promDuration(period);

    d.row("Service-level objectives (" + p + ")");
    for (Slo slo : slos) {
      d.stat(slo.name() + " " + slo.sink() + ": SLI over " + p, slo.describe(),
          "1 - " + SloMetrics.errorRatio(p) + slo.selector(), "percentunit", 6, 4, slo.objective());
      d.stat(slo.name() + " " + slo.sink() + ": error budget left", "share of the " + p + " error budget not yet spent",
          SloMetrics.BUDGET_REMAINING + slo.selector(), "percentunit", 6, 4, 0.0);
    }
    d.table("Burn-rate alerts firing", "alerts of the generated rules (page: 1h/5m at 14.4x, 6h/30m at 6x; ticket: 1d/2h at 3x, 3d/6h at 1x)",
        "ALERTS{alertname=\"" + SloMetrics.ALERT + "\",alertstate=\"firing\"}", 24, 6);
    for (Slos.Kind kind : Slos.Kind.values()) {
      d.timeseries(kind.name().toLowerCase() + ": error ratio (1h) and objective budget",
          "error ratio over the last hour per sink; the dashed line is the allowed ratio (1 - objective)",
          List.of(target(SloMetrics.errorRatio("1h") + "{slo=\"" + kind.name().toLowerCase() + "\"}", "{{sink}} 1h"),
              target("1 - " + SloMetrics.OBJECTIVE + "{slo=\"" + kind.name().toLowerCase() + "\"}", "{{sink}} budget")),
          "percentunit", 8, 8);
    }

    d.row("Pipeline");
    // PromQL raw strings (backticks): the regex needs no second level of escaping
    String q = escape(prefix) + "\\..+\\.p[0-9]+";
    String depth = "(" + SloMetrics.RABBIT_DETAILED_QUEUE_MESSAGES + "{queue=~`" + q + "`} or "
        + SloMetrics.RABBIT_QUEUE_MESSAGES + "{queue=~`" + q + "`})";
    d.timeseries("Queue depth per partition queue", "messages ready + unacked in each sink's partition queues (rabbitmq_prometheus)",
        List.of(target("sum by (queue) " + depth, "{{queue}}")), "short", 12, 8);
    d.timeseries("Sink lag (messages)", "messages waiting in each sink's queues, all partitions",
        List.of(target("sum by (sink) (label_replace(" + depth + ", \"sink\", \"$1\", \"queue\", `" + escape(prefix)
            + "\\.(.+)\\.p[0-9]+`))", "{{sink}}")), "short", 12, 8);
    d.timeseries("Sink throughput", "readings acked after they were durable, per second",
        List.of(target("sum by (sink) (rate(" + SloMetrics.PROM_DELIVERED + "[1m]))", "{{sink}} delivered"),
            target("sum by (sink) (rate(" + SloMetrics.PROM_DEAD_LETTERED + "[1m]))", "{{sink}} dead-lettered")),
        "reqps", 12, 8);
    d.timeseries("Sink lag (time): publish to durable", "p50 and p99 of the freshness histogram",
        List.of(target("histogram_quantile(0.99, sum by (sink, le) (rate(" + SloMetrics.PROM_FRESHNESS_BUCKET + "[5m])))", "{{sink}} p99"),
            target("histogram_quantile(0.5, sum by (sink, le) (rate(" + SloMetrics.PROM_FRESHNESS_BUCKET + "[5m])))", "{{sink}} p50")),
        "s", 12, 8);
    d.timeseries("Open seq gaps and missing readings", "readings inside gaps still within grace; readings counted missing per minute",
        List.of(target("sum by (sink) (" + SloMetrics.PROM_GAPS_OPEN + ")", "{{sink}} in open gaps"),
            target("sum by (sink) (increase(" + SloMetrics.PROM_MISSING + "[1m]))", "{{sink}} missing / min")),
        "short", 12, 8);
    d.timeseries("Sink health", "0 up, 1 degraded, 2 down (worst instance)",
        List.of(target("max by (sink) (" + SloMetrics.PROM_SINK_HEALTH + ")", "{{sink}}")), "short", 12, 8);

    Map<String, Object> dash = new LinkedHashMap<>();
    dash.put("title", "iotpipe SLOs");
    dash.put("uid", "iotpipe-slo");
    dash.put("tags", List.of("iotpipe", "slo"));
    dash.put("schemaVersion", 39);
    dash.put("version", 1);
    dash.put("editable", true);
    dash.put("time", Map.of("from", "now-6h", "to", "now"));
    dash.put("refresh", "30s");
    dash.put("templating", Map.of("list", List.of(Map.of(
        "name", "datasource", "label", "Prometheus", "type", "datasource", "query", "prometheus",
        "current", Map.of(), "hide", 0, "refresh", 1))));
    dash.put("annotations", Map.of("list", List.of()));
    dash.put("panels", d.panels);
    return dash;
  }

  /** RE2 escape of the queue prefix (used inside a PromQL raw string). */
  private static String escape(String prefix) {
    return prefix.replaceAll("([.\\\\+*?()\\[\\]{}|^$])", "\\\\$1");
  }

  private static Map<String, Object> target(String expr, String legend) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("datasource", DATASOURCE);
    t.put("expr", expr);
    t.put("legendFormat", legend);
    return t;
  }

  private void row(String title) {
    newLine();
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("id", nextId++);
    r.put("type", "row");
    r.put("title", title);
    r.put("collapsed", false);
    r.put("gridPos", Map.of("x", 0, "y", y, "w", 24, "h", 1));
    r.put("panels", List.of());
    panels.add(r);
    y += 1;
  }

  private void newLine() {
    if (x > 0) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
  }

  private Map<String, Object> panel(String type, String title, String description, List<Map<String, Object>> targets, int w, int h) {
    if (x + w > 24) {
      newLine();
    }
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("id", nextId++);
    p.put("type", type);
    p.put("title", title);
    p.put("description", description);
    p.put("datasource", DATASOURCE);
    p.put("gridPos", Map.of("x", x, "y", y, "w", w, "h", h));
    char ref = 'A';
    for (Map<String, Object> t : targets) {
      t.put("refId", String.valueOf(ref++));
    }
    p.put("targets", targets);
    x += w;
    rowHeight = Math.max(rowHeight, h);
    panels.add(p);
    return p;
  }

  private void stat(String title, String description, String expr, String unit, int w, int h, double redBelow) {
    Map<String, Object> p = panel("stat", title, description, List.of(target(expr, "")), w, h);
    p.put("fieldConfig", Map.of("defaults", Map.of("unit", unit, "decimals", 3,
        "thresholds", Map.of("mode", "absolute", "steps", List.of(
            mapOf("color", "red", "value", null), mapOf("color", "green", "value", redBelow)))), "overrides", List.of()));
    p.put("options", Map.of("reduceOptions", Map.of("calcs", List.of("lastNotNull"), "fields", "", "values", false),
        "colorMode", "value", "graphMode", "none"));
  }

  private void timeseries(String title, String description, List<Map<String, Object>> targets, String unit, int w, int h) {
    Map<String, Object> p = panel("timeseries", title, description, new ArrayList<>(targets), w, h);
    p.put("fieldConfig", Map.of("defaults", Map.of("unit", unit), "overrides", List.of()));
  }

  private void table(String title, String description, String expr, int w, int h) {
    Map<String, Object> t = target(expr, "");
    t.put("instant", true);
    t.put("format", "table");
    panel("table", title, description, new ArrayList<>(List.of(t)), w, h);
  }

  private static Map<String, Object> mapOf(String k1, Object v1, String k2, Object v2) {
    Map<String, Object> m = new LinkedHashMap<>(); // Map.of refuses the null a Grafana base threshold needs
    m.put(k1, v1);
    m.put(k2, v2);
    return m;
  }
}
