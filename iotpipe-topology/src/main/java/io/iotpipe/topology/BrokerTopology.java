package io.iotpipe.topology;

import io.iotpipe.core.config.BrokerConfig;
import java.util.ArrayList;
import java.util.List;

/** Everything one broker must hold, in declaration order (exchanges and queues before the bindings that use them). */
public record BrokerTopology(BrokerConfig broker, List<Declaration> declarations, boolean needsShovelPlugin,
                             boolean needsHashExchange) {

  /** Whether the topology declares users (then plan reads the broker's users and permissions too). */
  public boolean declaresUsers() {
    return declarations.stream().anyMatch(d -> d instanceof Declaration.User || d instanceof Declaration.UserAbsent
        || d instanceof Declaration.DevicePermissions);
  }

  /** This topology with only its users and permissions (no plugins needed). */
  public BrokerTopology accountsOnly() {
    return new BrokerTopology(broker, declarations.stream().filter(d -> d instanceof Declaration.User
        || d instanceof Declaration.Permission || d instanceof Declaration.DevicePermissions
        || d instanceof Declaration.UserAbsent).toList(), false, false);
  }

  static final class Builder {
    private final BrokerConfig broker;
    private final List<Declaration> decls = new ArrayList<>();
    private boolean shovel;
    private boolean hash;

    Builder(BrokerConfig broker) {
      this.broker = broker;
    }

    Builder add(Declaration d) {
      if (decls.stream().noneMatch(x -> x.key().equals(d.key()))) {
        decls.add(d);
      }
      if (d instanceof Declaration.Shovel) {
        shovel = true;
      }
      if (d instanceof Declaration.Exchange e && e.type().equals(TopologyCompiler.HASH_EXCHANGE)) {
        hash = true;
      }
      return this;
    }

    BrokerTopology build() {
      List<Declaration> ordered = new ArrayList<>();
      // Accounts first (the shovels may log in as one), guest last (the other changes may still use the session).
      decls.stream().filter(d -> d instanceof Declaration.User).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.Permission).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.Exchange).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.Queue).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.Binding).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.Shovel || d instanceof Declaration.ShovelAbsent).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.DevicePermissions).forEach(ordered::add);
      decls.stream().filter(d -> d instanceof Declaration.UserAbsent).forEach(ordered::add);
      return new BrokerTopology(broker, List.copyOf(ordered), shovel, hash);
    }
  }
}
