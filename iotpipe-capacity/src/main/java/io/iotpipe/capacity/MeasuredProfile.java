package io.iotpipe.capacity;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures {@code bench index|store --save-profile FILE} measured (schema {@code iotpipe-bench-profile/1}: flat
 * keys, a {@code measuredBy} note per key, the machine and whether it was busy), read as planner constants: they
 * replace the reference profile's, and {@link #check} says whether the planner's figures predicted them.
 */
public record MeasuredProfile(String source, Map<String, CapacityProfile.Constant> measured, String busy) {

  public static final String SCHEMA = "iotpipe-bench-profile/1";

  /** Permitted gap between the planner's per-worker throughput and a fresh measurement (issue 13: within ±25 %). */
  public static final double BAND = 0.25;

  /** bench's key -> the planner constant it measures (per-instance throughput of a role, bytes per stored row). */
  static final Map<String, String> KEYS = Map.of(
      "indexerMsgsPerSecPerInstance", "indexerMsgPerSec",
      "storeMsgsPerSecPerInstance", "storeMsgPerSec",
      "parquetBytesPerRow", "parquetBytesPerRow");

  /** One measured constant next to the planner's figure for it. */
  public record Check(String constant, String unit, double predicted, double measured, double ratio, boolean withinBand,
                      String predictedFrom, String measuredBy) {}

  public static boolean isBenchProfile(JsonNode root) {
    return root != null && SCHEMA.equals(root.path("schema").asText());
  }

  /** The planner constants in a bench profile file; {@code source} names the file in messages. */
  public static MeasuredProfile parse(String source, JsonNode root) {
    Map<String, CapacityProfile.Constant> m = new LinkedHashMap<>();
    String busy = root.path("machine").path("busy").asText("unknown");
    CapacityProfile reference = CapacityProfile.reference();
    KEYS.forEach((benchKey, constant) -> {
      JsonNode v = root.get(benchKey);
      if (v != null && v.isNumber() && v.asDouble() > 0) {
        String by = root.path("measuredBy").path(benchKey).asText("bench");
        m.put(constant, new CapacityProfile.Constant(v.asDouble(), reference.constants().get(constant).unit(),
            by + " (" + source + "; machine busy: " + busy + ")"));
      }
    });
    if (m.isEmpty()) {
      throw new CapacityProfile.ProfileException(source + ": a bench profile without any of " + KEYS.keySet()
          + ": run bench index|store --save-profile " + source + " first");
    }
    return new MeasuredProfile(source, m, busy);
  }

  /** {@code base} with the measured constants in place of its own. */
  public CapacityProfile over(CapacityProfile base) {
    CapacityProfile p = base;
    for (var e : measured.entrySet()) {
      p = p.with(e.getKey(), e.getValue().value(), e.getValue().unit(), e.getValue().source());
    }
    return p.named(base.name() + ", with the constants bench measured in " + source + " (" + String.join(", ", measured.keySet()) + ")");
  }

  /** Each measured constant against {@code predicted}'s figure: ratio measured / predicted, within {@link #BAND}? */
  public List<Check> check(CapacityProfile predicted) {
    List<Check> out = new ArrayList<>();
    for (var e : measured.entrySet()) {
      CapacityProfile.Constant p = predicted.constants().get(e.getKey());
      double ratio = e.getValue().value() / p.value();
      out.add(new Check(e.getKey(), p.unit(), p.value(), e.getValue().value(), ratio, Math.abs(ratio - 1) <= BAND + 1e-9,
          p.source(), e.getValue().source()));
    }
    return out;
  }

  /** The check as a table for people. */
  public static String text(String predictedProfile, List<Check> checks) {
    StringBuilder b = new StringBuilder();
    b.append("planner profile: ").append(predictedProfile).append('\n');
    b.append(String.format(Locale.ROOT, "%-20s %12s %12s %8s  %s%n", "constant", "predicted", "measured", "ratio", "within ±25 %"));
    for (Check c : checks) {
      b.append(String.format(Locale.ROOT, "%-20s %12s %12s %8.2f  %s%n", c.constant(), CapacityPlanner.n(c.predicted()),
          CapacityPlanner.n(c.measured()), c.ratio(), c.withinBand() ? "yes" : "NO"));
    }
    for (Check c : checks) {
      b.append("  ").append(c.constant()).append(": measured by ").append(c.measuredBy()).append('\n');
    }
    return b.toString();
  }
}
