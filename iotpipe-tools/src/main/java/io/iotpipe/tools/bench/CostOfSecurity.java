package io.iotpipe.tools.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench e2e --security both}: the insecure and the secured run's medians side by side, with secure / insecure
 * ratios (throughput below 1 and CPU above 1 are what security costs).
 */
final class CostOfSecurity {

  static final List<String> PROCESSES = List.of("simulator", "edgeBroker", "cloudBroker", "indexer", "store", "searchEngine", "total");

  private CostOfSecurity() {}

  /** {sustainedReadingsPerSec: {insecure, secure, ratio}, cpuSecondsPer100k: {process: {insecure, secure, ratio}}, ...}. */
  static Map<String, Object> compare(Map<String, Object> insecure, Map<String, Object> secure) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sustainedReadingsPerSec", pair(median(insecure, "sustainedReadingsPerSec"), median(secure, "sustainedReadingsPerSec")));
    m.put("ratioToSingleQueue", pair(number(insecure.get("ratioToSingleQueue")), number(secure.get("ratioToSingleQueue"))));
    Map<String, Object> cpu = new LinkedHashMap<>();
    for (String p : PROCESSES) {
      cpu.put(p, pair(median(sub(insecure, "cpuSecondsPer100k"), p), median(sub(secure, "cpuSecondsPer100k"), p)));
    }
    m.put("cpuSecondsPer100k", cpu);
    Map<String, Object> lat = new LinkedHashMap<>();
    for (String path : List.of("deviceToIndexed", "deviceToSearchable", "deviceToFile")) {
      lat.put(path + "P99AtHalf", pair(latency(insecure, path), latency(secure, path)));
    }
    m.put("latencyMs", lat);
    m.put("note", "ratio = secure / insecure; medians over rounds; each mode on fresh nodes, one after the other");
    return m;
  }

  /** The console table of {@link #compare}. */
  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> insecure, Map<String, Object> secure) {
    Map<String, Object> c = compare(insecure, secure);
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-34s %12s %12s %8s%n", "cost of security (medians)", "insecure", "secure", "ratio"));
    row(b, "sustained readings/s", (Map<String, Double>) c.get("sustainedReadingsPerSec"), 0);
    row(b, "ratio to single queue", (Map<String, Double>) c.get("ratioToSingleQueue"), 2);
    ((Map<String, Object>) c.get("cpuSecondsPer100k")).forEach((p, v) -> row(b, "CPU s/100k " + p, (Map<String, Double>) v, 2));
    ((Map<String, Object>) c.get("latencyMs")).forEach((p, v) -> row(b, p + " ms", (Map<String, Double>) v, 0));
    return b.toString();
  }

  private static void row(StringBuilder b, String name, Map<String, Double> v, int decimals) {
    String f = "%12." + decimals + "f";
    b.append(String.format(Locale.ROOT, "%-34s " + f + " " + f + " %8.2f%n", name, v.get("insecure"), v.get("secure"), v.get("ratio")));
  }

  static Map<String, Double> pair(double insecure, double secure) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("insecure", insecure);
    m.put("secure", secure);
    m.put("ratio", insecure > 0 ? Stats.round(secure / insecure, 2) : Double.NaN);
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> sub(Map<String, Object> m, String key) {
    return m.get(key) instanceof Map<?, ?> x ? (Map<String, Object>) x : Map.of();
  }

  private static double median(Map<String, Object> m, String key) {
    return m.get(key) instanceof Map<?, ?> x ? number(x.get("median")) : Double.NaN;
  }

  @SuppressWarnings("unchecked")
  private static double latency(Map<String, Object> m, String path) {
    Map<String, Object> half = sub(sub(m, "latencyMs"), "atHalfSustained");
    return half.get(path) instanceof Map<?, ?> q ? median((Map<String, Object>) q, "p99") : Double.NaN;
  }

  private static double number(Object o) {
    return o instanceof Number n ? n.doubleValue() : Double.NaN;
  }
}
