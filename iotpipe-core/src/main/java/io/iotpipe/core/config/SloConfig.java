package io.iotpipe.core.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Service-level objectives: what {@code iotpipe slo rules|dashboard|report} turns into recording rules, burn-rate
 * alerts and a dashboard. The whole section is optional; every key has a default.
 *
 * @param window       the SLO period the error budget is counted over (30d)
 * @param completeness per sink: readings that reach the sink, against readings missing (a seq gap open longer than
 *                     {@code grace}) or dead-lettered
 * @param freshness    per sink name: share of readings durable in the sink within {@code within} of their publish
 * @param availability per sink: share of time the sink's role reports its health and is not DOWN (no health series: unavailable)
 */
public record SloConfig(Duration window, Completeness completeness, Map<String, Freshness> freshness,
                        Availability availability) {

  /**
   * @param target     good share, e.g. 0.9999
   * @param grace      a seq gap open longer than this counts its readings as missing (late arrivals within it are fine)
   * @param maxDevices devices tracked per sink (least recently seen forgotten beyond it): the memory bound
   */
  public record Completeness(double target, Duration grace, int maxDevices) {}

  /** @param target good share, e.g. 0.99; @param within publish-to-durable latency that counts as fresh */
  public record Freshness(double target, Duration within) {}

  /** @param target good share of time; @param countDegraded whether DEGRADED (retrying, reconnecting) counts as unavailable */
  public record Availability(double target, boolean countDegraded) {}

  /** Search is searchable within 5 s; files within {@code rollAge} + 30 s (a file is only visible once committed). */
  public static final Duration SEARCH_WITHIN = Duration.ofSeconds(5);
  public static final Duration FILES_MARGIN = Duration.ofSeconds(30);

  /** The defaults for a pipeline with these sinks and storage roll age (what an absent {@code slo:} section means). */
  public static SloConfig defaults(List<String> sinks, Duration rollAge) {
    return read(ConfigNode.root(null, new java.util.ArrayList<>(), k -> null), sinks, Map.of("storage", filesWithin(rollAge)));
  }

  /** The file store's default freshness target: a file is visible once committed, at most {@code rollAge} after. */
  static Duration filesWithin(Duration rollAge) {
    return rollAge.plus(FILES_MARGIN);
  }

  /**
   * @param visibleWithin per sink, the default freshness target its own configuration implies (the file store's roll
   *                      age, a plugin's commit clock); a sink not in it gets {@link #SEARCH_WITHIN}
   */
  static SloConfig read(ConfigNode c, List<String> sinks, Map<String, Duration> visibleWithin) {
    // at least 1d: the slowest alert looks back 3d; 28d or 30d is usual
    Duration window = c.duration("window", Duration.ofDays(30), Duration.ofDays(1), ConfigUnits.MAX_DURATION);
    ConfigNode cn = c.child("completeness");
    Completeness completeness = new Completeness(percent(cn, "target", 0.9999),
        cn.duration("grace", Duration.ofMinutes(5)), cn.integer("maxDevices", 200_000, 100, 50_000_000));
    cn.finish();

    Map<String, Freshness> freshness = new LinkedHashMap<>();
    ConfigNode fn = c.child("freshness");
    Map<String, ConfigNode> given = fn.entries("sinks");
    for (String sink : sinks) {
      ConfigNode s = given.remove(sink);
      Duration def = visibleWithin.getOrDefault(sink, SEARCH_WITHIN);
      if (s == null) {
        freshness.put(sink, new Freshness(0.99, def));
      } else {
        freshness.put(sink, new Freshness(percent(s, "target", 0.99), s.duration("within", def)));
        s.finish();
      }
    }
    ConfigNode sinksNode = fn.child("sinks");
    given.keySet().forEach(k -> sinksNode.error(k, "no such sink (topology.sinks: " + io.iotpipe.core.Reasons.sanitize(String.join(", ", sinks), 200) + ")"));
    fn.finish();

    ConfigNode an = c.child("availability");
    Availability availability = new Availability(percent(an, "target", 0.999), an.bool("countDegraded", false));
    an.finish();
    c.finish();
    return new SloConfig(window, completeness, java.util.Collections.unmodifiableMap(freshness), availability);
  }

  /** A target as {@code 99.9%}, {@code 99.9} (percent) or {@code 0.999}; must leave some budget (below 100 %). */
  private static final String PERCENT_RULE = "must be above 0 and below 100% (100% leaves no error budget)";

  private static double percent(ConfigNode c, String key, double fallback) {
    String s = c.string(key, null);
    if (s == null) {
      c.check(key, PERCENT_RULE, true, null); // declared for the reference even when the key is absent
      return fallback;
    }
    String t = s.trim();
    boolean pct = t.endsWith("%");
    try {
      // decimal arithmetic: 99.9 / 100 in doubles is 0.9990000000000001, which would show in rules and reports
      java.math.BigDecimal v = new java.math.BigDecimal(pct ? t.substring(0, t.length() - 1).trim() : t);
      double ratio = (pct || v.compareTo(java.math.BigDecimal.ONE) > 0 ? v.movePointLeft(2) : v).doubleValue();
      if (!c.check(key, PERCENT_RULE, ratio > 0 && ratio < 1,
          io.iotpipe.core.Reasons.quote(s, 40))) {
        return fallback;
      }
      return ratio;
    } catch (NumberFormatException e) {
      c.error(key, "expected a percentage like 99.9%, was " + io.iotpipe.core.Reasons.quote(s, 40));
      return fallback;
    }
  }
}
