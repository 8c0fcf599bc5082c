package io.iotpipe.core.config;

/**
 * One key of the configuration as the reader asks for it (recorded by {@link ConfigNode} in describe mode).
 *
 * @param path         dotted key path; members of a mapping of names appear as {@code <name>}
 * @param type         value type with its range, e.g. {@code integer 1..1024}, {@code duration}, {@code one of a, b}
 * @param defaultValue the default in config syntax, or null when there is none
 * @param required     whether the reader reports its absence
 */
public record ConfigKey(String path, String type, String defaultValue, boolean required) {
  ConfigKey asRequired() {
    return new ConfigKey(path, type, defaultValue, true);
  }
}
