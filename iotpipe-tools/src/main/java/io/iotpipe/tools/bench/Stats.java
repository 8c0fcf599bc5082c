package io.iotpipe.tools.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Median and range of a figure over rounds, as the benchmarks report every figure. */
final class Stats {

  private Stats() {}

  static double median(List<Double> xs) {
    List<Double> sorted = xs.stream().filter(x -> !Double.isNaN(x)).sorted().toList();
    int n = sorted.size();
    if (n == 0) {
      return Double.NaN;
    }
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /** {median, min, max, perRound}, rounded to {@code decimals}. */
  static Map<String, Object> of(List<Double> xs, int decimals) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("median", round(median(xs), decimals));
    m.put("min", round(xs.stream().mapToDouble(Double::doubleValue).filter(x -> !Double.isNaN(x)).min().orElse(Double.NaN), decimals));
    m.put("max", round(xs.stream().mapToDouble(Double::doubleValue).filter(x -> !Double.isNaN(x)).max().orElse(Double.NaN), decimals));
    m.put("perRound", xs.stream().map(x -> round(x, decimals)).toList());
    return m;
  }

  static double round(double x, int decimals) {
    double f = Math.pow(10, decimals);
    return Double.isNaN(x) || Double.isInfinite(x) ? x : Math.round(x * f) / f;
  }
}
