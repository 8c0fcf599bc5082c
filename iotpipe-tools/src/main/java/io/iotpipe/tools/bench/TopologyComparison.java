package io.iotpipe.tools.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench e2e --topology fanout,batch,streams}: the topologies' medians side by side, each with its ratio to the
 * first (the baseline, normally the seed's fanout), from rounds that run every topology on the same nodes.
 */
final class TopologyComparison {

  static final List<String> PROCESSES = List.of("simulator", "edgeBroker", "forwarder", "cloudBroker", "indexer", "store",
      "searchEngine", "total");
  /** The cloud tier as issue 20 counts it: cloud brokers and both sinks, the search engine excluded. */
  static final List<String> CLOUD_TIER = List.of("cloudBroker", "indexer", "store");
  /** The product's own processes: all but the simulated fleet and the search engine. */
  static final List<String> PRODUCT = List.of("edgeBroker", "forwarder", "cloudBroker", "indexer", "store");
  static final double TARGET_RATE_RATIO = 2.0;
  static final double TARGET_CLOUD_CPU_RATIO = 0.25;

  private TopologyComparison() {}

  /** {figure: {topology: value, ..., "<topology>/<baseline>": ratio}} for the topologies in their order. */
  static Map<String, Object> compare(Map<String, Map<String, Object>> byTopology) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sustainedReadingsPerSec", row(byTopology, s -> median(s, "sustainedReadingsPerSec")));
    m.put("cloudTierCpuSecondsPer100k", row(byTopology, s -> sumMedian(s, CLOUD_TIER)));
    m.put("productCpuSecondsPer100k", row(byTopology, s -> sumMedian(s, PRODUCT)));
    Map<String, Object> cpu = new LinkedHashMap<>();
    for (String p : PROCESSES) {
      cpu.put(p, row(byTopology, s -> sumMedian(s, List.of(p))));
    }
    m.put("cpuSecondsPer100k", cpu);
    Map<String, Object> lat = new LinkedHashMap<>();
    for (String path : List.of("deviceToIndexed", "deviceToFile")) {
      for (String q : List.of("p50", "p99")) {
        lat.put(path + q.toUpperCase(Locale.ROOT) + "AtHalf", row(byTopology, s -> latency(s, path, q)));
      }
    }
    m.put("latencyMs", lat);
    m.put("targets", targets(byTopology, m));
    m.put("note", "ratio = topology / " + byTopology.keySet().iterator().next() + " (the first); medians over rounds (a sum of "
        + "processes: the median of the per-round sums); every round runs each topology on the same nodes, in turn");
    return m;
  }

  /** Issue 20's bars for each topology against the baseline: sustained rate >= 2x, cloud tier CPU <= 1/4. */
  @SuppressWarnings("unchecked")
  private static Map<String, String> targets(Map<String, Map<String, Object>> byTopology, Map<String, Object> c) {
    Map<String, String> t = new LinkedHashMap<>();
    String base = byTopology.keySet().iterator().next();
    Map<String, Double> rate = (Map<String, Double>) c.get("sustainedReadingsPerSec");
    Map<String, Double> cloud = (Map<String, Double>) c.get("cloudTierCpuSecondsPer100k");
    for (String name : byTopology.keySet()) {
      if (name.equals(base)) {
        continue;
      }
      double r = rate.get(name + "/" + base);
      double cl = cloud.get(name + "/" + base);
      t.put(name, String.format(Locale.ROOT, "sustained %.2fx (target >= %.1fx: %s), cloud tier CPU %.2fx (target <= %.2fx: %s)",
          r, TARGET_RATE_RATIO, r >= TARGET_RATE_RATIO ? "met" : "not met", cl, TARGET_CLOUD_CPU_RATIO,
          cl <= TARGET_CLOUD_CPU_RATIO ? "met" : "not met"));
    }
    return t;
  }

  /** The console table of {@link #compare}. */
  @SuppressWarnings("unchecked")
  static String table(Map<String, Map<String, Object>> byTopology) {
    Map<String, Object> c = compare(byTopology);
    List<String> names = new ArrayList<>(byTopology.keySet());
    String base = names.getFirst();
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-38s", "topologies (medians)"));
    names.forEach(n -> b.append(String.format(Locale.ROOT, " %10s", n)));
    names.subList(1, names.size()).forEach(n -> b.append(String.format(Locale.ROOT, " %10s", n + "/" + base.charAt(0))));
    b.append('\n');
    line(b, names, "sustained readings/s", (Map<String, Double>) c.get("sustainedReadingsPerSec"), 0);
    line(b, names, "CPU s/100k cloud tier", (Map<String, Double>) c.get("cloudTierCpuSecondsPer100k"), 2);
    line(b, names, "CPU s/100k product (no sim, no search)", (Map<String, Double>) c.get("productCpuSecondsPer100k"), 2);
    ((Map<String, Object>) c.get("cpuSecondsPer100k")).forEach((p, v) -> line(b, names, "CPU s/100k " + p, (Map<String, Double>) v, 2));
    ((Map<String, Object>) c.get("latencyMs")).forEach((p, v) -> line(b, names, p + " ms", (Map<String, Double>) v, 0));
    ((Map<String, String>) c.get("targets")).forEach((n, v) -> b.append(n).append(": ").append(v).append('\n'));
    return b.toString();
  }

  private static void line(StringBuilder b, List<String> names, String label, Map<String, Double> v, int decimals) {
    b.append(String.format(Locale.ROOT, "%-38s", label));
    for (String n : names) {
      b.append(String.format(Locale.ROOT, " %10." + decimals + "f", v.get(n)));
    }
    for (String n : names.subList(1, names.size())) {
      b.append(String.format(Locale.ROOT, " %10.2f", v.get(n + "/" + names.getFirst())));
    }
    b.append('\n');
  }

  private static Map<String, Double> row(Map<String, Map<String, Object>> byTopology,
                                         java.util.function.ToDoubleFunction<Map<String, Object>> figure) {
    Map<String, Double> m = new LinkedHashMap<>();
    String base = null;
    double baseValue = Double.NaN;
    for (var e : byTopology.entrySet()) {
      double v = figure.applyAsDouble(e.getValue());
      m.put(e.getKey(), v);
      if (base == null) {
        base = e.getKey();
        baseValue = v;
      } else {
        m.put(e.getKey() + "/" + base, baseValue > 0 ? Stats.round(v / baseValue, 2) : Double.NaN);
      }
    }
    return m;
  }

  /** The median over rounds of the per-round sum of {@code processes}' CPU seconds per 100k readings. */
  @SuppressWarnings("unchecked")
  static double sumMedian(Map<String, Object> summary, List<String> processes) {
    Map<String, Object> cpu = summary.get("cpuSecondsPer100k") instanceof Map<?, ?> x ? (Map<String, Object>) x : Map.of();
    List<Double> sums = new ArrayList<>();
    for (String p : processes) {
      List<?> perRound = cpu.get(p) instanceof Map<?, ?> s && s.get("perRound") instanceof List<?> l ? l : List.of();
      for (int i = 0; i < perRound.size(); i++) {
        double v = perRound.get(i) instanceof Number n ? n.doubleValue() : Double.NaN;
        if (sums.size() <= i) {
          sums.add(0.0);
        }
        sums.set(i, sums.get(i) + (Double.isNaN(v) ? 0 : v));
      }
    }
    return Stats.round(Stats.median(sums), 2);
  }

  private static double median(Map<String, Object> m, String key) {
    return m.get(key) instanceof Map<?, ?> x && x.get("median") instanceof Number n ? n.doubleValue() : Double.NaN;
  }

  private static double latency(Map<String, Object> m, String path, String q) {
    Object lat = m.get("latencyMs") instanceof Map<?, ?> l ? l.get("atHalfSustained") : null;
    Object p = lat instanceof Map<?, ?> h ? h.get(path) : null;
    Object s = p instanceof Map<?, ?> pm ? pm.get(q) : null;
    return s instanceof Map<?, ?> sm && sm.get("median") instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
