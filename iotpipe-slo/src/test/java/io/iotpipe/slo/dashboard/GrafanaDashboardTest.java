package io.iotpipe.slo.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.Slos.Slo;
import io.iotpipe.slo.prom.PrometheusBinaries;
import io.iotpipe.slo.rules.SloRules;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Grafana is not installable here: the dashboard JSON is checked for what an import and the panels need. */
class GrafanaDashboardTest {

  private static final Duration PERIOD = Duration.ofDays(30);
  private static final List<Slo> SLOS = Slos.of(SloConfig.defaults(List.of("elk", "storage"), Duration.ofSeconds(60)),
      List.of("elk", "storage"));
  private final JsonNode dash = parse(GrafanaDashboard.json(SLOS, PERIOD, "iotpipe"));

  private static JsonNode parse(String json) {
    try {
      return new ObjectMapper().readTree(json);
    } catch (Exception e) {
      throw new AssertionError("the dashboard is not valid JSON: " + e.getMessage(), e);
    }
  }

  private List<JsonNode> panels(boolean withRows) {
    List<JsonNode> out = new ArrayList<>();
    dash.get("panels").forEach(p -> {
      if (withRows || !p.get("type").asText().equals("row")) {
        out.add(p);
      }
    });
    return out;
  }

  @Test
  void hasWhatAnImportNeeds() {
    assertThat(dash.get("title").asText()).isNotBlank();
    assertThat(dash.get("uid").asText()).matches("[a-zA-Z0-9_-]{1,40}");
    assertThat(dash.get("schemaVersion").asInt()).isGreaterThanOrEqualTo(36);
    JsonNode ds = dash.at("/templating/list/0");
    assertThat(ds.get("type").asText()).isEqualTo("datasource");
    assertThat(ds.get("query").asText()).isEqualTo("prometheus");
  }

  @Test
  void everyPanelHasAUniqueIdADatasourceAndAPlaceOnTheGrid() {
    Set<Integer> ids = new HashSet<>();
    List<int[]> cells = new ArrayList<>();
    for (JsonNode p : panels(true)) {
      assertThat(ids.add(p.get("id").asInt())).as("duplicate panel id %s", p.get("id")).isTrue();
      JsonNode g = p.get("gridPos");
      int x = g.get("x").asInt();
      int y = g.get("y").asInt();
      int w = g.get("w").asInt();
      int h = g.get("h").asInt();
      assertThat(x + w).as("panel %s fits the 24-column grid", p.get("title")).isLessThanOrEqualTo(24);
      assertThat(w).isPositive();
      assertThat(h).isPositive();
      for (int[] c : cells) {
        boolean overlap = x < c[0] + c[2] && c[0] < x + w && y < c[1] + c[3] && c[1] < y + h;
        assertThat(overlap).as("panel %s overlaps another", p.get("title")).isFalse();
      }
      cells.add(new int[] {x, y, w, h});
      if (p.get("type").asText().equals("row")) {
        continue;
      }
      assertThat(p.get("title").asText()).isNotBlank();
      assertThat(p.at("/datasource/type").asText()).as("datasource of %s", p.get("title")).isEqualTo("prometheus");
      assertThat(p.at("/datasource/uid").asText()).isEqualTo("${datasource}");
      assertThat(p.get("targets")).as("targets of %s", p.get("title")).isNotEmpty();
      Set<String> refs = new HashSet<>();
      for (JsonNode t : p.get("targets")) {
        assertThat(refs.add(t.get("refId").asText())).isTrue();
        assertThat(t.at("/datasource/uid").asText()).isEqualTo("${datasource}");
        assertThat(t.get("expr").asText()).isNotBlank();
      }
    }
  }

  @Test
  void everySloHasItsSliAndBudgetAndTheOperationalPanelsArePresent() {
    List<String> titles = panels(false).stream().map(p -> p.get("title").asText()).toList();
    for (Slo s : SLOS) {
      assertThat(titles).contains(s.name() + " " + s.sink() + ": SLI over 30d", s.name() + " " + s.sink() + ": error budget left");
    }
    assertThat(titles).contains("Burn-rate alerts firing", "Queue depth per partition queue", "Sink throughput",
        "Sink lag (messages)", "Sink lag (time): publish to durable");
  }

  @Test
  void queriesUseOnlyMetricsTheRulesRecordOrTheProcessesAndBrokersExport() throws Exception {
    Set<String> known = new HashSet<>(SloRules.metricNames(SLOS, PERIOD));
    for (var f : SloMetrics.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class && (f.getName().startsWith("PROM_")
          || f.getName().startsWith("RABBIT_") || f.getName().equals("BUDGET_REMAINING") || f.getName().equals("OBJECTIVE"))) {
        known.add((String) f.get(null));
      }
    }
    known.add("ALERTS");
    Pattern metric = Pattern.compile("\\b(ALERTS|iotpipe[_:][a-zA-Z0-9_:]+|rabbitmq_[a-z_]+)");
    for (String expr : exprs()) {
      Matcher m = metric.matcher(expr);
      assertThat(m.find()).as("query names a metric: %s", expr).isTrue();
      do {
        assertThat(known).as("metric %s in %s", m.group(1), expr).contains(m.group(1));
      } while (m.find());
    }
  }

  /** Every query is valid PromQL: promtool parses each one as a recording rule. */
  @Test
  void queriesParseAsPromQl(@TempDir Path dir) throws Exception {
    List<Object> rules = new ArrayList<>();
    int i = 0;
    for (String expr : exprs()) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("record", "dashboard:query" + i++);
      r.put("expr", expr);
      rules.add(r);
    }
    Path file = dir.resolve("dashboard-queries.yml");
    new ObjectMapper(new YAMLFactory()).writeValue(file.toFile(), Map.of("groups", List.of(Map.of("name", "q", "rules", rules))));
    Process p = new ProcessBuilder(PrometheusBinaries.promtool().toString(), "check", "rules", file.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(Files.size(file)).isPositive();
  }

  private List<String> exprs() {
    List<String> out = new ArrayList<>();
    for (JsonNode p : panels(false)) {
      p.get("targets").forEach(t -> out.add(t.get("expr").asText()));
    }
    return out;
  }
}
