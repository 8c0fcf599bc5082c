package io.iotpipe.slo.sli;

import io.iotpipe.sink.SinkHealth;
import io.iotpipe.slo.SloMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.Supplier;

/** Exports a sink's health as {@code iotpipe_sink_health{sink}}: 0 up, 1 degraded, 2 down (the availability SLI). */
public final class SinkHealthGauge {

  private SinkHealthGauge() {}

  public static void register(MeterRegistry registry, String sink, Supplier<SinkHealth> health) {
    // strongly held: Micrometer keeps a weak reference by default, and a method reference passed here is referenced by
    // nobody else, so the gauge read NaN after the first garbage collection
    Gauge.builder(SloMetrics.SINK_HEALTH, health, h -> value(h.get())).strongReference(true)
        .tag(SloMetrics.SINK, sink).description("sink health: 0 up, 1 degraded, 2 down").register(registry);
  }

  public static int value(SinkHealth h) {
    return switch (h.state()) {
      case UP -> 0;
      case DEGRADED -> 1;
      case DOWN -> 2;
    };
  }
}
