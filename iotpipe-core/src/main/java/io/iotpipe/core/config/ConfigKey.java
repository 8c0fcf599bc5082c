package io.iotpipe.core.config;

/**
 * One key of the configuration as the reader asks for it (recorded by {@link ConfigNode} in describe mode).
 *
 * @param path         dotted key path; members of a mapping of names appear as {@code <name>}
 * @param type         value type with its range, e.g. {@code integer 1..1024}, {@code duration}, {@code one of a, b}
 * @param defaultValue the default in config syntax, or null when there is none
 * @param required     whether the reader reports its absence
 * @param rules        what is checked beyond type and range ({@link ConfigNode#check}), in the words of the error
 */
public record ConfigKey(String path, String type, String defaultValue, boolean required, java.util.List<String> rules) {

  public ConfigKey(String path, String type, String defaultValue, boolean required) {
    this(path, type, defaultValue, required, java.util.List.of());
  }

  ConfigKey asRequired() {
    return new ConfigKey(path, type, defaultValue, true, rules);
  }

  ConfigKey withRule(String rule) {
    if (rules.contains(rule)) {
      return this;
    }
    java.util.List<String> r = new java.util.ArrayList<>(rules);
    r.add(rule);
    return new ConfigKey(path, type, defaultValue, required, java.util.List.copyOf(r));
  }

  /** The same key as the reader asked for it again (type, default), keeping what was declared of it already. */
  ConfigKey mergedWith(ConfigKey earlier) {
    return new ConfigKey(path, type.isEmpty() ? earlier.type : type, defaultValue != null ? defaultValue : earlier.defaultValue,
        required || earlier.required, earlier.rules);
  }
}
