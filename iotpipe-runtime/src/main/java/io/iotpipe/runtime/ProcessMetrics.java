package io.iotpipe.runtime;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;

/** The metrics registry every iotpipe process serves on /metrics: tagged with its instance, with the JVM's memory. */
public final class ProcessMetrics {

  private ProcessMetrics() {}

  public static PrometheusMeterRegistry registry(String instance) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("instance", instance);
    new JvmMemoryMetrics().bindTo(registry);
    // The pools' own high-water marks: exact, where sampling jvm_memory_used_bytes misses peaks between scrapes
    // (what bench reports as a process's peak heap).
    Gauge.builder("iotpipe.jvm.heap.peak", () -> ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(pool -> pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null)
            .mapToLong(pool -> pool.getPeakUsage().getUsed()).sum())
        .baseUnit("bytes").description("sum of the heap pools' peak usage since start").register(registry);
    return registry;
  }

  /** Host and pid: the default instance name of a process. */
  public static String defaultInstance() {
    return ManagementFactory.getRuntimeMXBean().getName().replaceAll("[^A-Za-z0-9@.-]", "_").replace('@', '-');
  }
}
