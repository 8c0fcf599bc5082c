package io.iotpipe.core.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * A top-level section of {@code iotpipe.yaml} that a plugin module declares (found with {@link ServiceLoader}, listed
 * in {@code META-INF/services/io.iotpipe.core.config.ConfigSection}): its keys are read with {@link ConfigNode}'s typed
 * getters, so they are checked, all errors reported at once with their paths, and shown by {@code config reference}
 * like the built-in sections — declared once, in the plugin that uses them (Debezium's {@code Field}, Redpanda
 * Connect's {@code ConfigSpec}). Read even when absent from the file, so defaults and required keys are known.
 *
 * @param <T> the section's settings
 */
public interface ConfigSection<T> {

  /** The top-level key, e.g. {@code lake}. */
  String name();

  /**
   * Reads the section (a missing section reads as all defaults); report problems with {@code node.error} or
   * {@code node.check}. Unknown keys are reported by the caller after this returns.
   */
  T read(ConfigNode node);

  /** One-line descriptions for the reference: key path below the section (e.g. {@code catalog.uri}) -> text. */
  Map<String, String> docs();

  /**
   * How soon a reading published now is visible in each sink these settings configure (sink name -> time): the default
   * target of its freshness SLO ({@code slo.freshness.sinks.<sink>.within}). A sink that commits on a clock of its own
   * configuration knows this; the framework does not. None by default (the SLO then assumes a search engine's 5 s).
   */
  default Map<String, Duration> visibleWithin(T settings) {
    return Map.of();
  }

  /** {@link #visibleWithin} for settings this section read (typed as the caller holds them: {@code Object}). */
  @SuppressWarnings("unchecked")
  static <T> Map<String, Duration> visibleWithin(ConfigSection<T> section, Object settings) {
    return section.visibleWithin((T) settings);
  }

  /** Every section the class path declares, in class-path order. */
  static List<ConfigSection<?>> installed() {
    return Holder.INSTALLED;
  }

  /** Loaded once: the class path does not change while the process runs. */
  final class Holder {
    private static final List<ConfigSection<?>> INSTALLED = ServiceLoader.load(ConfigSection.class).stream()
        .<ConfigSection<?>>map(p -> p.get()).toList();

    private Holder() {}
  }
}
