package io.iotpipe.tools.demo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's summary as a person reads it: a label and a value with its unit per row, in the report's table. The
 * machine form ({@code --json}) keeps its keys; this only renders them. A key without a label here (added later and
 * forgotten) still reads as words and its value never as a Java {@code toString()}.
 */
final class SummaryText {

  /** Label and unit of each machine key, in the order the rows appear. */
  private record Row(String label, String unit) {}

  private static final Map<String, Row> ROWS = new LinkedHashMap<>();

  static {
    ROWS.put("published", new Row("readings published by the fleet", ""));
    ROWS.put("confirmed", new Row("readings confirmed to the devices", ""));
    ROWS.put("indexed", new Row("searchable in the index", ""));
    ROWS.put("stored", new Row("stored in files", ""));
    ROWS.put("inLake", new Row("in the lake's Iceberg table", ""));
    ROWS.put("deadLettered", new Row("dead-lettered (with a reason)", ""));
    ROWS.put("lost", new Row("lost (confirmed but missing from a sink and from the dead-letter queues)", ""));
    ROWS.put("duplicates", new Row("duplicates", ""));
    ROWS.put("latencyMs", new Row("end-to-end latency to search", "ms"));
    ROWS.put("storageVisibilityP50Ms", new Row("storage visibility, median (until the file holding a reading commits)", "ms"));
    ROWS.put("lakeVisibilityP50Ms", new Row("lake visibility, median (until the snapshot holding a reading commits)", "ms"));
    ROWS.put("publishRatePerSecond", new Row("publish rate", "readings/s"));
    ROWS.put("nacked", new Row("publishes refused by the edge (back-pressure)", ""));
    ROWS.put("cpuSecondsFleetToDrained", new Row("CPU time from fleet start until drained", "s"));
    ROWS.put("devices", new Row("simulated devices", ""));
    ROWS.put("partitions", new Row("partitions", ""));
    ROWS.put("cloudNodes", new Row("cloud RabbitMQ nodes", ""));
    ROWS.put("seconds", new Row("demo duration", "s"));
    ROWS.put("security", new Row("security", ""));
    ROWS.put("dataDir", new Row("data directory", ""));
    ROWS.put("lakeTable", new Row("the lake's table", ""));
    ROWS.put("reportFile", new Row("report file", ""));
  }

  /** Names of the parts of a nested value (the processes of the CPU row). */
  private static final Map<String, String> PARTS = Map.of(
      "demoJvm", "demo JVM (fleet and the sinks)", "edgeBroker", "edge broker", "cloudBrokers", "cloud brokers",
      "searchEngine", "search engine");

  private SummaryText() {}

  /**
   * Rows for the report: label -> value text. Keys in {@code rendered} are shown as given (values that are already
   * sentences, such as the security line).
   */
  static Map<String, String> rows(Map<String, Object> summary, Map<String, String> rendered) {
    Map<String, String> out = new LinkedHashMap<>();
    List<String> keys = new ArrayList<>(ROWS.keySet());
    summary.keySet().stream().filter(k -> !ROWS.containsKey(k)).forEach(keys::add);
    for (String key : keys) {
      if (!summary.containsKey(key)) {
        continue;
      }
      Row row = ROWS.getOrDefault(key, new Row(words(key), ""));
      String value = rendered.containsKey(key) ? rendered.get(key) : value(summary.get(key), row.unit());
      out.put(row.label(), value);
    }
    return out;
  }

  /** {@code latencyMs} -> "latency ms", {@code brokerQueuePeakDepths} -> "broker queue peak depths". */
  static String words(String key) {
    return key.replaceAll("([a-z0-9])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
  }

  private static String value(Object v, String unit) {
    if (v instanceof Map<?, ?> m) {
      List<String> parts = new ArrayList<>();
      m.forEach((k, x) -> parts.add(PARTS.getOrDefault(String.valueOf(k), words(String.valueOf(k))) + " " + value(x, unit)));
      return String.join(", ", parts);
    }
    if (v instanceof List<?> l) {
      return l.isEmpty() ? "none" : String.join(", ", l.stream().map(x -> value(x, "")).toList());
    }
    String text = v instanceof Double d ? String.format(Locale.ROOT, "%.1f", d) : String.valueOf(v);
    return unit.isEmpty() ? text : text + " " + unit;
  }
}
