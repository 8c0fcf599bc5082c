package io.iotpipe.runtime;

import io.iotpipe.sink.SinkPlugin;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * A role a pipeline process can take: one installed {@link SinkPlugin}, by its role name. The runtime knows roles
 * only through {@link ServiceLoader}: whatever sink modules are on the class path are the roles there are.
 */
public record Role(String name) {

  private static final Map<String, SinkPlugin> INSTALLED = load();

  private static Map<String, SinkPlugin> load() {
    Map<String, SinkPlugin> out = new LinkedHashMap<>();
    for (SinkPlugin p : ServiceLoader.load(SinkPlugin.class)) {
      SinkPlugin before = out.putIfAbsent(p.role(), p);
      if (before != null && before.getClass() != p.getClass()) {
        throw new PipelineException("two sink plugins claim the role \"" + p.role() + "\": " + before.getClass().getName()
            + " and " + p.getClass().getName() + "; remove one of their jars from the class path");
      }
    }
    return out;
  }

  /** The role named {@code name}; an error listing the installed roles when there is none. */
  public static Role of(String name) {
    if (!INSTALLED.containsKey(name)) {
      throw new PipelineException("no sink plugin for the role \"" + name + "\"; installed: " + String.join(", ", INSTALLED.keySet())
          + " (a role comes from a sink module on the class path that lists its plugin in META-INF/services/"
          + SinkPlugin.class.getName() + ")");
    }
    return new Role(name);
  }

  /** Every installed role, in class-path order. */
  public static Set<Role> installed() {
    Set<Role> out = new LinkedHashSet<>();
    INSTALLED.keySet().forEach(n -> out.add(new Role(n)));
    return out;
  }

  /** The installed roles whose sinks are among {@code sinks} (what {@code run --role all} runs). */
  public static Set<Role> forSinks(java.util.Collection<String> sinks) {
    Set<Role> out = new LinkedHashSet<>();
    INSTALLED.forEach((n, p) -> {
      if (sinks.contains(p.sink())) {
        out.add(new Role(n));
      }
    });
    return out;
  }

  /** The installed roles whose sinks {@code cfg}'s {@code topology.sinks} names. */
  public static Set<Role> configured(io.iotpipe.core.config.IotpipeConfig cfg) {
    return forSinks(cfg.topology().sinks());
  }

  public SinkPlugin plugin() {
    SinkPlugin p = INSTALLED.get(name);
    if (p == null) {
      throw new PipelineException("no sink plugin for the role \"" + name + "\"; installed: " + String.join(", ", INSTALLED.keySet()));
    }
    return p;
  }

  /** The sink's name in {@code topology.sinks} (its queues and metrics). */
  public String sink() {
    return plugin().sink();
  }

  @Override
  public String toString() {
    return name;
  }
}
