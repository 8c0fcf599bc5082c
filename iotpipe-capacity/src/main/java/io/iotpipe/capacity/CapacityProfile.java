package io.iotpipe.capacity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The constants the capacity planner works from, each with its unit and where it comes from (a benchmark, a
 * measurement note, a protocol specification or a sizing policy). A profile is JSON or YAML; the reference profile,
 * measured on the project's own machines, ships as a resource.
 */
public record CapacityProfile(String name, Map<String, Constant> constants) {

  public record Constant(double value, String unit, String source) {}

  /** Every constant the planner reads; a profile must define all of them. */
  public static final List<String> REQUIRED = List.of(
      "indexerMsgPerSec", "storeMsgPerSec", "searchDocsPerSecPerNode", "brokerQueueWritesPerSecPerNode",
      "quorumQueueMsgPerSec", "quorumReplicas", "edgeDevicesPerSite", "parquetBytesPerRow", "searchBytesPerDoc",
      "searchDiskPerNodeBytes", "searchDiskWatermark", "utilisation", "amqpPublishOverheadBytes", "amqpConfirmBytes",
      "mqttPublishOverheadBytes", "mqttPubackBytes", "tlsRecordOverheadBytes", "tlsMaxRecordBytes", "tcpIpHeaderBytes",
      "tcpMssBytes");

  public static final String REFERENCE = "/io/iotpipe/capacity/reference-profile.json";

  /** Thrown with every problem of a profile file, each naming its key. */
  public static final class ProfileException extends IllegalArgumentException {
    public ProfileException(String message) {
      super(message);
    }
  }

  public static CapacityProfile reference() {
    try (InputStream in = CapacityProfile.class.getResourceAsStream(REFERENCE)) {
      return parse("reference profile", in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalStateException("the reference profile is missing from the jar: " + e.getMessage(), e);
    }
  }

  public static CapacityProfile load(Path file) {
    try {
      return parse(file.toString(), Files.readAllBytes(file));
    } catch (IOException e) {
      throw new ProfileException("cannot read profile " + file.toAbsolutePath() + ": " + e.getMessage());
    }
  }

  /** JSON or YAML (YAML reads both); a file {@code bench --save-profile} wrote is read as {@link MeasuredProfile}. */
  public static CapacityProfile parse(String source, byte[] text) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(text);
    } catch (IOException e) {
      throw new ProfileException(source + ": not valid JSON/YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (MeasuredProfile.isBenchProfile(root)) {
      // what bench --save-profile writes: its measurements over the reference profile's other constants
      return MeasuredProfile.parse(source, root).over(reference());
    }
    List<String> errors = new ArrayList<>();
    Map<String, Constant> constants = new LinkedHashMap<>();
    JsonNode cs = root == null ? null : root.get("constants");
    if (cs == null || !cs.isObject()) {
      throw new ProfileException(source + ": constants: required, a mapping of name -> {value, unit, source}");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = cs.fields(); it.hasNext(); ) {
      var e = it.next();
      JsonNode v = e.getValue().get("value");
      if (v == null || !v.isNumber() || !(v.asDouble() > 0)) {
        errors.add("constants." + e.getKey() + ".value: must be a positive number");
        continue;
      }
      String src = e.getValue().path("source").asText("");
      if (src.isBlank()) {
        errors.add("constants." + e.getKey() + ".source: say where the figure comes from (a benchmark, a spec, a policy)");
      }
      constants.put(e.getKey(), new Constant(v.asDouble(), e.getValue().path("unit").asText(""), src));
    }
    for (String r : REQUIRED) {
      if (!constants.containsKey(r) && !cs.has(r)) {
        errors.add("constants." + r + ": missing (see the reference profile for its meaning and unit)");
      }
    }
    if (!errors.isEmpty()) {
      throw new ProfileException(source + ":\n  " + String.join("\n  ", errors));
    }
    return new CapacityProfile(root.path("name").asText(source), constants);
  }

  /**
   * A copy with one constant replaced or added: how {@code bench ... --save-profile} turns its measurements into a
   * profile (start from {@link #reference()}, replace what it measured, saying how, then {@link #toJson()}).
   */
  public CapacityProfile with(String constant, double value, String unit, String source) {
    Map<String, Constant> m = new LinkedHashMap<>(constants);
    m.put(constant, new Constant(value, unit, source));
    return new CapacityProfile(name, m);
  }

  public CapacityProfile named(String newName) {
    return new CapacityProfile(newName, constants);
  }

  /** The profile as JSON, readable by {@link #load} and {@code iotpipe plan --profile}. */
  public String toJson() {
    try {
      return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(Map.of("name", name, "constants", constants));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public double get(String name) {
    Constant c = constants.get(name);
    if (c == null) {
      throw new IllegalArgumentException("profile " + this.name + " has no constant " + name);
    }
    return c.value();
  }
}
