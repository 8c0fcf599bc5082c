package io.iotpipe.tools;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Which burn-rate alerts each chaos scenario must fire (the README's "which alerts fire when something breaks"), as
 * assertions on a row's {@code alerts} column: a scenario that should page fails when the page did not fire, and one
 * whose fault is meant to stay silent under the real windows fails when anything fired. {@code alerts} is
 * {@link io.iotpipe.slo.report.AlertTimeline#summary}: {@code "none fired"}, or entries like
 * {@code "page completeness/elk 1h/5m: fired +12 s, resolved +40 s after recovery"} joined by {@code "; "}.
 */
final class ChaosAlerts {

  private ChaosAlerts() {}

  private static final String SILENT = "none fired";

  /** Per scenario: alert name prefixes ({@code severity slo/sink}) of which each must have fired after the fault. */
  private static final Map<String, List<String>> MUST_FIRE = Map.of(
      // dead-lettered readings count against completeness, in both sinks
      "poison", List.of("page completeness/elk", "page completeness/storage"),
      // the backlog of the burst reaches search late; the pages fire while it drains
      "rush-hour", List.of("page freshness/"),
      "sink-lost", List.of("page availability/storage"),
      "indexer-kill9", List.of("page availability/elk"),
      "opensearch-down", List.of("page freshness/elk"));

  /**
   * Scenarios whose fault must not page. A regional outage strands the readings the home region held (the store's
   * uncommitted ones, redelivered when the region is back, arrive late): in a run of minutes the tickets' long windows
   * hold nothing but the run's readings, so those few can exceed a ticket's budget — a day of real traffic dilutes
   * them — and whether they do depends on how much the store held at the kill (seen both ways on RabbitMQ 4.0).
   */
  private static final java.util.Set<String> MUST_NOT_PAGE = java.util.Set.of("region-outage");

  /** Scenarios whose fault is short enough that the real windows stay silent, by design. */
  private static final Map<String, String> MUST_STAY_SILENT = Map.of(
      "storage-unwritable", SILENT,
      // wan-cut twice: with the planner's buffer, and with a quarter of it (nacks are back-pressure, not an SLI)
      "wan-cut-planned", "planned buffer: " + SILENT + " | quarter: " + SILENT);

  /** Throws {@link AssertionError} naming the scenario and what was reported when {@code alerts} breaks its expectation. */
  static void check(String scenario, String alerts) {
    if (scenario.equals("spoofing")) {
      // runs on a secured stack of its own, which no Prometheus watches
      if (!alerts.isEmpty()) {
        throw new AssertionError("spoofing is not watched, yet reports alerts: " + alerts);
      }
      return;
    }
    if (MUST_NOT_PAGE.contains(scenario)) {
      if (alerts.isEmpty() || Arrays.stream(alerts.split("; ")).anyMatch(e -> e.startsWith("page "))) {
        throw new AssertionError(scenario + ": expected no page, got: \"" + alerts + "\"");
      }
      return;
    }
    if (MUST_STAY_SILENT.containsKey(scenario)) {
      if (!alerts.equals(MUST_STAY_SILENT.get(scenario))) {
        throw new AssertionError(scenario + ": expected no alert (\"" + MUST_STAY_SILENT.get(scenario) + "\"), got: \"" + alerts + "\"");
      }
      return;
    }
    List<String> expected = MUST_FIRE.get(scenario);
    if (expected == null) {
      throw new AssertionError("no alert expectation for scenario " + scenario + ": add one to ChaosAlerts");
    }
    List<String> entries = Arrays.stream(alerts.split("; ")).toList();
    for (String name : expected) {
      boolean fired = entries.stream().anyMatch(e -> e.startsWith(name) && e.contains(": fired +"));
      if (!fired) {
        throw new AssertionError(scenario + ": expected \"" + name + "…\" to fire after the fault, got: \"" + alerts + "\"");
      }
    }
  }
}
