package io.iotpipe.tools.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Issue 19's comparison of the stores in one {@code bench store} run: the lake (Iceberg) role, the file store role and
 * the Camel route, each drained from the same preloaded readings at the same heap cap, rounds interleaved. A ratio is
 * taken per round (the three phases of a round ran within minutes of each other, so a noisy neighbour hits them alike)
 * and the median of those is reported, as {@code ratioToCeiling} is; rates are medians of their own.
 */
final class SideBySide {

  /** The rates of one round, msg/s; NaN for a phase that did not run. */
  record Round(double lake, double fileStore, double camel) {}

  private SideBySide() {}

  /** Ratio keys → median over rounds and the per-round values (2 decimals); a ratio is left out if a side never ran. */
  static Map<String, Object> ratios(List<Round> rounds) {
    Map<String, Object> r = new LinkedHashMap<>();
    put(r, "lakeToCamel", rounds.stream().map(x -> x.lake() / x.camel()).toList());
    put(r, "lakeToFileStore", rounds.stream().map(x -> x.lake() / x.fileStore()).toList());
    put(r, "fileStoreToCamel", rounds.stream().map(x -> x.fileStore() / x.camel()).toList());
    return r;
  }

  private static void put(Map<String, Object> r, String key, List<Double> perRound) {
    List<Double> valid = perRound.stream().filter(d -> !d.isNaN() && !d.isInfinite()).toList();
    if (valid.isEmpty()) {
      return;
    }
    r.put(key, round2(BenchCommand.Base.median(valid)));
    List<Object> shown = new ArrayList<>();
    for (double d : perRound) {
      shown.add(Double.isNaN(d) || Double.isInfinite(d) ? null : round2(d));
    }
    r.put(key + "PerRound", shown);
  }

  static double round2(double d) {
    return Math.round(d * 100) / 100.0;
  }

  /**
   * One line for the console: the three rates and the ratios next to issue 19's targets (lake ≥ 1.5 × Camel, lake ≥
   * the file store).
   */
  static String summary(String heap, double lake, double fileStore, double camel, Map<String, Object> ratios) {
    StringBuilder b = new StringBuilder("side by side at ").append(heap).append(":");
    if (!Double.isNaN(lake)) {
      b.append(String.format(" lake %.0f ·", lake));
    }
    b.append(String.format(" file store %.0f", fileStore));
    if (!Double.isNaN(camel)) {
      b.append(String.format(" · Camel %.0f", camel));
    }
    b.append(" msg/s (medians)");
    if (ratios.containsKey("lakeToCamel")) {
      b.append("; lake/Camel ").append(ratios.get("lakeToCamel")).append(" (target ≥ 1.5)");
    }
    if (ratios.containsKey("lakeToFileStore")) {
      b.append("; lake/file store ").append(ratios.get("lakeToFileStore")).append(" (target ≥ 1)");
    }
    if (ratios.containsKey("fileStoreToCamel")) {
      b.append("; file store/Camel ").append(ratios.get("fileStoreToCamel"));
    }
    return b.toString();
  }
}
