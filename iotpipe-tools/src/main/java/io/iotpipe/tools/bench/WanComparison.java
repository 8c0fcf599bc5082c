package io.iotpipe.tools.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench e2e --wan both}: the seed's topology (a shovel moving each reading into the hash exchange, fanned out to
 * one quorum queue per sink) and WAN batching (the forwarder carrying many readings of a partition per message into
 * the same fanout) side by side, from rounds run alternately on the same nodes, with batch / shovel ratios.
 */
final class WanComparison {

  static final List<String> PROCESSES = List.of("simulator", "edgeBroker", "forwarder", "cloudBroker", "indexer", "store",
      "searchEngine", "total");
  /** The cloud tier as the issue counts it: cloud brokers and both sinks, the search engine excluded. */
  static final List<String> CLOUD_TIER = List.of("cloudBroker", "indexer", "store");
  /** Every process of the product: all but the simulated fleet and the search engine. */
  static final List<String> PRODUCT = List.of("edgeBroker", "forwarder", "cloudBroker", "indexer", "store");
  static final double TARGET_RATE_RATIO = 2.0;
  static final double TARGET_CLOUD_CPU_RATIO = 0.25;

  private WanComparison() {}

  static Map<String, Object> compare(Map<String, Object> shovel, Map<String, Object> batch) {
    Map<String, Object> m = new LinkedHashMap<>();
    Map<String, Double> rate = pair(median(shovel, "sustainedReadingsPerSec"), median(batch, "sustainedReadingsPerSec"));
    m.put("sustainedReadingsPerSec", rate);
    m.put("sustainedTarget", "batch >= " + TARGET_RATE_RATIO + " x shovel: " + (rate.get("ratio") >= TARGET_RATE_RATIO ? "met" : "not met"));
    Map<String, Double> cloud = pair(sumMedian(shovel, CLOUD_TIER), sumMedian(batch, CLOUD_TIER));
    m.put("cloudTierCpuSecondsPer100k", cloud);
    m.put("cloudTierTarget", "batch <= " + TARGET_CLOUD_CPU_RATIO + " x shovel: " + (cloud.get("ratio") <= TARGET_CLOUD_CPU_RATIO ? "met" : "not met"));
    m.put("productCpuSecondsPer100k", pair(sumMedian(shovel, PRODUCT), sumMedian(batch, PRODUCT)));
    Map<String, Object> cpu = new LinkedHashMap<>();
    for (String p : PROCESSES) {
      cpu.put(p, pair(sumMedian(shovel, List.of(p)), sumMedian(batch, List.of(p))));
    }
    m.put("cpuSecondsPer100k", cpu);
    Map<String, Object> lat = new LinkedHashMap<>();
    for (String path : List.of("deviceToIndexed", "deviceToFile")) {
      for (String q : List.of("p50", "p99")) {
        lat.put(path + q.toUpperCase(Locale.ROOT) + "AtHalf", pair(latency(shovel, path, q), latency(batch, path, q)));
      }
    }
    m.put("latencyMs", lat);
    m.put("note", "ratio = batch / shovel; medians over rounds (a sum of processes: the median of the per-round sums); "
        + "the two topologies alternate within each round on the same nodes");
    return m;
  }

  /** The console table of {@link #compare}. */
  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> shovel, Map<String, Object> batch) {
    Map<String, Object> c = compare(shovel, batch);
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-38s %12s %12s %8s%n", "WAN: shovel vs batch (medians)", "shovel", "batch", "ratio"));
    row(b, "sustained readings/s", (Map<String, Double>) c.get("sustainedReadingsPerSec"), 0);
    row(b, "CPU s/100k cloud tier", (Map<String, Double>) c.get("cloudTierCpuSecondsPer100k"), 2);
    row(b, "CPU s/100k product (no sim, no search)", (Map<String, Double>) c.get("productCpuSecondsPer100k"), 2);
    ((Map<String, Object>) c.get("cpuSecondsPer100k")).forEach((p, v) -> row(b, "CPU s/100k " + p, (Map<String, Double>) v, 2));
    ((Map<String, Object>) c.get("latencyMs")).forEach((p, v) -> row(b, p + " ms", (Map<String, Double>) v, 0));
    b.append(c.get("sustainedTarget")).append('\n').append(c.get("cloudTierTarget")).append('\n');
    return b.toString();
  }

  private static void row(StringBuilder b, String name, Map<String, Double> v, int decimals) {
    String f = "%12." + decimals + "f";
    b.append(String.format(Locale.ROOT, "%-38s " + f + " " + f + " %8.2f%n", name, v.get("shovel"), v.get("batch"), v.get("ratio")));
  }

  static Map<String, Double> pair(double shovel, double batch) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("shovel", shovel);
    m.put("batch", batch);
    m.put("ratio", shovel > 0 ? Stats.round(batch / shovel, 2) : Double.NaN);
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

  @SuppressWarnings("unchecked")
  private static double latency(Map<String, Object> m, String path, String q) {
    Object lat = m.get("latencyMs") instanceof Map<?, ?> l ? l.get("atHalfSustained") : null;
    Object p = lat instanceof Map<?, ?> h ? h.get(path) : null;
    Object s = p instanceof Map<?, ?> pm ? pm.get(q) : null;
    return s instanceof Map<?, ?> sm && sm.get("median") instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
