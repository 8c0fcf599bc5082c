package io.iotpipe.slo.rules;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.iotpipe.core.config.SloConfig;
import io.iotpipe.slo.SloMetrics;
import io.iotpipe.slo.Slos;
import io.iotpipe.slo.Slos.Kind;
import io.iotpipe.slo.Slos.Slo;
import io.iotpipe.slo.prom.PrometheusBinaries;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated rules, checked by the real promtool: {@code check rules} on the file, and {@code test rules} unit
 * tests that feed synthetic series and assert which burn-rate alert fires when. No server is started.
 */
class SloRulesPromtoolTest {

  private static final Duration PERIOD = Duration.ofDays(30);
  private static final List<Slo> SLOS = Slos.of(SloConfig.defaults(List.of("elk", "storage"), Duration.ofSeconds(60)),
      List.of("elk", "storage"));
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir
  static Path dir;
  static Path rules;

  @BeforeAll
  static void writeRules() throws IOException {
    rules = dir.resolve("iotpipe-slo.rules.yml");
    Files.writeString(rules, SloRules.yaml(SLOS, PERIOD, SloRules.Options.DEFAULT));
  }

  @Test
  void promtoolAcceptsTheRuleFile() throws Exception {
    Result r = run(PrometheusBinaries.promtool().toString(), "check", "rules", rules.toString());
    assertThat(r.exit).as(r.output).isZero();
    // 2 sinks x 3 SLOs x 8 windows + 2 availability samples + 12 meta + 24 alerts
    assertThat(r.output).contains("SUCCESS: 86 rules found");
  }

  @Test
  void completenessPagesOnAFastBurnTicketsOnASlowOneAndStaysQuietWhenHealthy() throws Exception {
    Slo elk = slo(Kind.COMPLETENESS, "elk");
    List<Object> tests = new ArrayList<>();
    // Healthy: 6000 readings a minute, nothing missing, nothing dead-lettered -> no alert at all, even after 4 h.
    tests.add(test(List.of(
            series(SloMetrics.PROM_READINGS, "elk", "0+6000x300"),
            series(SloMetrics.PROM_MISSING, "elk", "0+0x300"),
            series(SloMetrics.PROM_DEAD_LETTERED, "elk", "0+0x300")),
        List.of(expect("10m"), expect("4h"))));
    // Fast burn: 600 of 6600 readings a minute missing (9 %, 900x the 0.01 % budget) -> the 1h/5m page fires after
    // its 2 m; the 6h/30m page still waits for its 15 m, the tickets for their 1 h / 3 h.
    // Once the burn stops (at 20 m) each page resolves when its short window is past the burn (5 m, 30 m), though
    // the long windows are still high.
    tests.add(test(List.of(
            series(SloMetrics.PROM_READINGS, "elk", "0+6000x300"),
            series(SloMetrics.PROM_MISSING, "elk", "0+600x20 12000+0x280"),
            series(SloMetrics.PROM_DEAD_LETTERED, "elk", "0+0x300")),
        List.of(
            expect("1m"),
            expect("10m", fire(elk, 0)),
            expect("19m", fire(elk, 0), fire(elk, 1)),
            expect("40m", fire(elk, 1)),
            expect("55m"))));
    // Slow burn: 2 dead letters per 10,002 readings (2x the budget: it would take 15 days to spend it) -> no page,
    // the 3d/6h ticket fires (after its 3 h), the 1d/2h ticket (3x) does not.
    tests.add(test(List.of(
            series(SloMetrics.PROM_READINGS, "elk", "0+10000x300"),
            series(SloMetrics.PROM_MISSING, "elk", "0+0x300"),
            series(SloMetrics.PROM_DEAD_LETTERED, "elk", "0+2x300")),
        List.of(expect("1h"), expect("2h50m"), expect("4h", fire(elk, 3)))));
    promtoolTest("completeness", tests);
  }

  @Test
  void freshnessBurnsOnSlowDeliveriesOfTheSinkConcerned() throws Exception {
    Slo storage = slo(Kind.FRESHNESS, "storage");
    String le = Slos.le(storage.within()); // 90.0: rollAge 60s + 30s
    assertThat(le).isEqualTo("90.0");
    List<Object> tests = new ArrayList<>();
    // Half of the files' readings take longer than rollAge + 30 s: 50x the 1 % budget -> the fast page fires.
    // elk is fast at the same time (all within 5 s): no alert for elk.
    tests.add(test(List.of(
            bucket("storage", le, "0+500x60"), count("storage", "0+1000x60"),
            bucket("elk", "5.0", "0+1000x60"), count("elk", "0+1000x60")),
        List.of(expect("5m", fire(storage, 0)))));
    // 98.5 % fresh: 1.5x the budget -> only the 3d/6h ticket, after its 3 h.
    tests.add(test(List.of(
            bucket("storage", le, "0+985x300"), count("storage", "0+1000x300")),
        List.of(expect("2h"), expect("3h30m", fire(storage, 3)))));
    promtoolTest("freshness", tests);
  }

  @Test
  void availabilityPagesWhileASinkIsDownNotWhileDegraded() throws Exception {
    Slo elk = slo(Kind.AVAILABILITY, "elk");
    List<Object> tests = new ArrayList<>();
    // elk DOWN (2) from 10 m to 25 m: the 1h/5m page fires, then the 6h/30m one; both resolve once their short
    // window is past the outage. storage DEGRADED (1) for the same time does not count.
    tests.add(test(List.of(
            health("elk", "0x9 2x15 0x60"),
            health("storage", "0x9 1x15 0x60")),
        List.of(expect("8m"), expect("20m", fire(elk, 0)), expect("45m", fire(elk, 1)), expect("60m"))));
    // storage's role dead from 10 m to 25 m: its health series vanish, which counts as unavailable.
    Slo storage = slo(Kind.AVAILABILITY, "storage");
    tests.add(test(List.of(
            health("elk", "0x85"),
            health("storage", "0x9 _x15 0x60")),
        List.of(expect("8m"), expect("20m", fire(storage, 0)), expect("60m"))));
    promtoolTest("availability", tests);
  }

  // ------------------------------------------------------------------ helpers

  private static Slo slo(Kind kind, String sink) {
    return SLOS.stream().filter(s -> s.kind() == kind && s.sink().equals(sink)).findFirst().orElseThrow();
  }

  private static Map<String, Object> series(String name, String sink, String values) {
    return Map.of("series", name + "{sink=\"" + sink + "\"}", "values", values);
  }

  private static Map<String, Object> bucket(String sink, String le, String values) {
    return Map.of("series", SloMetrics.PROM_FRESHNESS_BUCKET + "{sink=\"" + sink + "\",le=\"" + le + "\"}", "values", values);
  }

  private static Map<String, Object> count(String sink, String values) {
    return series(SloMetrics.PROM_FRESHNESS_COUNT, sink, values);
  }

  private static Map<String, Object> health(String sink, String values) {
    return series(SloMetrics.PROM_SINK_HEALTH, sink, values);
  }

  /** An alert expected firing: window pair i of {@link SloRules#WINDOWS}. */
  private static Map<String, Object> fire(Slo slo, int window) {
    SloRules.BurnWindow w = SloRules.WINDOWS.get(window);
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("slo", slo.name());
    labels.put("sink", slo.sink());
    labels.put("severity", w.severity());
    labels.put("long", Slos.promDuration(w.longWindow()));
    labels.put("short", Slos.promDuration(w.shortWindow()));
    return Map.of("exp_labels", labels, "exp_annotations", SloRules.annotations(slo, w, PERIOD));
  }

  @SafeVarargs
  private static Map<String, Object> expect(String at, Map<String, Object>... alerts) {
    return Map.of("eval_time", at, "alertname", SloMetrics.ALERT, "exp_alerts", List.of(alerts));
  }

  /** Both roles report UP unless the test gives a sink's health itself (no health at all counts as unavailable). */
  private static Map<String, Object> test(List<Map<String, Object>> series, List<Map<String, Object>> expectations) {
    List<Map<String, Object>> all = new ArrayList<>(series);
    for (String sink : List.of("elk", "storage")) {
      if (series.stream().noneMatch(s -> s.get("series").equals(SloMetrics.PROM_SINK_HEALTH + "{sink=\"" + sink + "\"}"))) {
        all.add(health(sink, "0+0x300"));
      }
    }
    return Map.of("interval", "1m", "input_series", all, "alert_rule_test", expectations);
  }

  private static void promtoolTest(String name, List<Object> tests) throws Exception {
    Path file = dir.resolve(name + ".test.yml");
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("rule_files", List.of(rules.toString()));
    doc.put("evaluation_interval", "1m");
    doc.put("tests", tests);
    YAML.writeValue(file.toFile(), doc);
    Result r = run(PrometheusBinaries.promtool().toString(), "test", "rules", file.toString());
    assertThat(r.exit).as("promtool test rules %s:%n%s", file, r.output).isZero();
  }

  private record Result(int exit, String output) {}

  private static Result run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("promtool did not finish in 120 s: " + String.join(" ", cmd));
    }
    return new Result(p.exitValue(), out);
  }
}
