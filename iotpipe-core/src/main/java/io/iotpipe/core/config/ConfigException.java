package io.iotpipe.core.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a configuration has errors; carries all of them, never just the first. */
public final class ConfigException extends RuntimeException {
  private final transient List<ConfigError> errors;

  public ConfigException(String source, List<ConfigError> errors) {
    super(source + " has " + errors.size() + " error" + (errors.size() == 1 ? "" : "s") + ":\n"
        + errors.stream().map(e -> "  - " + e).collect(Collectors.joining("\n")));
    this.errors = List.copyOf(errors);
  }

  public List<ConfigError> errors() {
    return errors;
  }
}
