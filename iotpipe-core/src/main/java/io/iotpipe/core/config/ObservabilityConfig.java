package io.iotpipe.core.config;

/**
 * @param port HTTP port for {@code /health} and {@code /metrics} (Prometheus); 0 disables the endpoint
 * @param bind address to listen on
 */
public record ObservabilityConfig(int port, String bind) {
  static ObservabilityConfig read(ConfigNode c) {
    int port = c.integer("port", 9464, 0, 65_535);
    String bind = c.string("bind", "127.0.0.1");
    c.finish();
    return new ObservabilityConfig(port, bind);
  }
}
