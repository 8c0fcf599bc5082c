package io.iotpipe.core.config;

/** One problem in a configuration file: where (dotted key path, e.g. {@code brokers.cloud.uris[1]}) and what. */
public record ConfigError(String path, String message) {
  @Override
  public String toString() {
    return path + ": " + message;
  }
}
