package io.iotpipe.slo;

import io.iotpipe.core.config.SloConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The SLOs of a pipeline (three per sink) and the PromQL of each one's error ratio over a window: the single place
 * that knows how an SLI is computed from the exported metrics. Rules, dashboard and report all come from here.
 */
public final class Slos {

  /** What an SLO measures. */
  public enum Kind { COMPLETENESS, FRESHNESS, AVAILABILITY }

  /**
   * One objective.
   *
   * @param kind      what it measures
   * @param sink      which sink
   * @param objective good share, e.g. 0.9999
   * @param within    freshness only: the latency that counts as fresh
   * @param countDegraded availability only: whether DEGRADED counts as unavailable
   */
  public record Slo(Kind kind, String sink, double objective, Duration within, boolean countDegraded) {

    public String name() {
      return kind.name().toLowerCase(Locale.ROOT);
    }

    public double budget() {
      // exact decimal: 1 - 0.9999 in doubles is 9.999999999998899E-5, which would end up in the rules as such
      return java.math.BigDecimal.ONE.subtract(java.math.BigDecimal.valueOf(objective)).doubleValue();
    }

    /** The series selector of this SLO's recorded series: {@code {slo="freshness",sink="elk"}}. */
    public String selector() {
      return "{slo=\"" + name() + "\",sink=\"" + sink + "\"}";
    }

    public String describe() {
      return switch (kind) {
        case COMPLETENESS -> percent(objective) + " of readings reach " + sink + " (no seq gap older than the grace period, not dead-lettered)";
        case FRESHNESS -> percent(objective) + " of readings durable in " + sink + " within " + promDuration(within) + " of publish";
        case AVAILABILITY -> percent(objective) + " of the time " + sink + " reports health and is not " + (countDegraded ? "DEGRADED or DOWN" : "DOWN");
      };
    }

    /**
     * PromQL for the share of bad events over {@code window} (a Prometheus duration such as {@code 5m}). Without
     * labels: the recording rule attaches {@code slo} and {@code sink}. {@code or vector(0)} keeps a missing
     * counter (no dead letters yet) from emptying the whole sum; no traffic at all gives 0/0 = NaN, which no
     * alert threshold matches.
     */
    public String errorRatio(String window) {
      String s = "{" + SloMetrics.SINK + "=\"" + sink + "\"}";
      return switch (kind) {
        case COMPLETENESS -> {
          String bad = "(sum(rate(" + SloMetrics.PROM_MISSING + s + "[" + window + "])) or vector(0))"
              + " + (sum(rate(" + SloMetrics.PROM_DEAD_LETTERED + s + "[" + window + "])) or vector(0))";
          yield "(" + bad + ")\n/\n((sum(rate(" + SloMetrics.PROM_READINGS + s + "[" + window + "])) or vector(0)) + " + bad + ")";
        }
        case FRESHNESS -> "1 - (\n  sum(rate(" + SloMetrics.PROM_FRESHNESS_BUCKET + "{" + SloMetrics.SINK + "=\"" + sink + "\",le=\"" + le(within)
            + "\"}[" + window + "]))\n  /\n  sum(rate(" + SloMetrics.PROM_FRESHNESS_COUNT + s + "[" + window + "]))\n)";
        case AVAILABILITY -> "avg_over_time(" + SloMetrics.SINK_UNAVAILABLE + s + "[" + window + "])";
      };
    }

    /**
     * Availability only: the per-sample error, 1 while unavailable. No health series at all (every instance of the
     * role dead, or not scraped) counts as unavailable too: a role that cannot report is not serving.
     */
    public String unavailableNow() {
      return "(max(" + SloMetrics.PROM_SINK_HEALTH + "{" + SloMetrics.SINK + "=\"" + sink + "\"}) >= bool " + (countDegraded ? 1 : 2)
          + ") or on() vector(1)";
    }
  }

  private Slos() {}

  public static List<Slo> of(SloConfig cfg, List<String> sinks) {
    List<Slo> out = new ArrayList<>();
    for (String sink : sinks) {
      out.add(new Slo(Kind.COMPLETENESS, sink, cfg.completeness().target(), null, false));
      SloConfig.Freshness f = cfg.freshness().get(sink);
      out.add(new Slo(Kind.FRESHNESS, sink, f.target(), f.within(), false));
      out.add(new Slo(Kind.AVAILABILITY, sink, cfg.availability().target(), null, cfg.availability().countDegraded()));
    }
    return out;
  }

  /**
   * The {@code le} label value Micrometer's Prometheus registry writes for a bucket bound: seconds as a Java double
   * ({@code 5.0}, {@code 0.25}); {@code SloMetricsTest} checks this against a real scrape.
   */
  public static String le(Duration d) {
    return Double.toString(d.toNanos() / 1e9);
  }

  /** A Prometheus duration ({@code 30d}, {@code 6h}, {@code 5m}, {@code 90s}, {@code 500ms}). */
  public static String promDuration(Duration d) {
    long ms = d.toMillis();
    if (ms % 86_400_000 == 0) {
      return ms / 86_400_000 + "d";
    }
    if (ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  public static String percent(double ratio) {
    String s = String.format(Locale.ROOT, "%.4f", ratio * 100).replaceAll("0+$", "").replaceAll("\\.$", "");
    return s + "%";
  }
}
