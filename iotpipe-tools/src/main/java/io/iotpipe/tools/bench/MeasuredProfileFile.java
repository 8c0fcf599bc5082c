package io.iotpipe.tools.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.cli.Output;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The measured constants the capacity planner reads ({@code --save-profile FILE}). Each bench command adds its own keys
 * to the file and keeps the others, so {@code bench index}, {@code bench store} and {@code bench e2e} build one profile.
 */
final class MeasuredProfileFile {

  private MeasuredProfileFile() {}

  /** The machine the figures were measured on (they are only valid for it). */
  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nproc", Runtime.getRuntime().availableProcessors());
    var os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      m.put("memoryMiB", sun.getTotalMemorySize() >> 20);
    }
    m.put("loadAverage1m", Math.round(os.getSystemLoadAverage() * 100) / 100.0);
    m.put("jdk", System.getProperty("java.vendor") + " " + System.getProperty("java.version"));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put("busy", os.getSystemLoadAverage() > Runtime.getRuntime().availableProcessors() * 0.5
        ? "yes: load average above half the cores before the run; figures are low and noisy" : "no");
    return m;
  }

  static void save(Path file, String source, Map<String, Object> values) throws IOException {
    ObjectNode root = Files.exists(file) ? (ObjectNode) Output.json().readTree(file.toFile()) : Output.json().createObjectNode();
    root.put("schema", "iotpipe-bench-profile/1");
    root.set("machine", Output.json().valueToTree(machine()));
    ObjectNode sources = root.has("measuredBy") ? (ObjectNode) root.get("measuredBy") : root.putObject("measuredBy");
    values.forEach((k, v) -> {
      root.set(k, Output.json().valueToTree(v));
      sources.put(k, source + " at " + Instant.now());
    });
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Output.json().writeValue(file.toFile(), root);
  }
}
