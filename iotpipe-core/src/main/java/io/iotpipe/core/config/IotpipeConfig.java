package io.iotpipe.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.envelope.ContractLimits;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The whole configuration of a pipeline, read from one YAML file ({@code iotpipe.yaml}).
 *
 * <p>{@link #load} validates everything and throws one {@link ConfigException} listing every problem with its key
 * path, including cross-references (a topology naming a broker that is not defined).
 */
public record IotpipeConfig(Map<String, BrokerConfig> brokers, TopologyConfig topology, ContractLimits contract,
                            IndexerConfig indexer, StorageConfig storage, SimulatorConfig simulator,
                            ObservabilityConfig observability, SloConfig slo, SecurityConfig security,
                            Map<String, Object> plugins) {

  /** The settings of a plugin's own section ({@link ConfigSection}), read with the rest of the file. */
  @SuppressWarnings("unchecked")
  public <T> T section(ConfigSection<T> section) {
    Object v = plugins.get(section.name());
    if (v == null) {
      throw new IllegalStateException("the config section " + section.name() + " was not read: is its module on the class path?");
    }
    return (T) v;
  }

  public static IotpipeConfig load(Path file) {
    return load(file, System::getenv);
  }

  public static IotpipeConfig load(Path file, Function<String, String> env) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file.toString(), List.of(new ConfigError("(file)", file.toAbsolutePath()
          + " does not exist (iotpipe.example.yaml in the repository is a starting point)")));
    } catch (MalformedInputException e) {
      throw new ConfigException(file.toString(), List.of(new ConfigError("(file)", "not UTF-8 text: save it as UTF-8")));
    } catch (AccessDeniedException e) {
      throw new ConfigException(file.toString(), List.of(new ConfigError("(file)", "cannot read " + file.toAbsolutePath()
          + ": permission denied")));
    } catch (IOException e) {
      throw new ConfigException(file.toString(), List.of(new ConfigError("(file)", "cannot read " + file.toAbsolutePath()
          + (Files.isDirectory(file) ? ": it is a directory" : ": " + e.getMessage()))));
    }
    return parse(file.toString(), text, env);
  }

  public static IotpipeConfig parse(String source, String yaml, Function<String, String> env) {
    return parse(source, yaml, env, null);
  }

  /**
   * Loads only what a command uses: the top-level sections in {@code sections} are checked and their environment
   * references resolved; the others are read without their {@code ${ENV}} values and their errors are not reported
   * (least privilege: a data scientist's {@code query} needs the store's settings, not the brokers' passwords).
   * Such a config must not be used for the other sections. {@code null}: every section.
   */
  public static IotpipeConfig load(Path file, Function<String, String> env, java.util.Set<String> sections) {
    return sections == null ? load(file, env) : reparse(file, env, sections);
  }

  private static IotpipeConfig reparse(Path file, Function<String, String> env, java.util.Set<String> sections) {
    try {
      return parse(file.toString(), Files.readString(file), env, sections);
    } catch (IOException e) {
      return load(file, env); // reports the file problem the usual way
    }
  }

  public static IotpipeConfig parse(String source, String yaml, Function<String, String> env, java.util.Set<String> sections) {
    List<ConfigError> errors = new ArrayList<>();
    JsonNode tree = YamlTree.parse(yaml, errors);
    if (tree == null) {
      throw new ConfigException(source, errors); // a syntax error: the tree says nothing more worth reporting
    }
    java.util.function.Predicate<String> inScope = sections == null ? p -> true : p -> inSections(p, sections);
    IotpipeConfig cfg = read(ConfigNode.root(tree, errors, env, inScope));
    errors.removeIf(e -> !e.path().startsWith("(") && !inScope.test(e.path()));
    if (!errors.isEmpty()) {
      throw new ConfigException(source, errors);
    }
    return cfg;
  }

  private static boolean inSections(String path, java.util.Set<String> sections) {
    int end = 0;
    while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') {
      end++;
    }
    return path.isEmpty() || sections.contains(path.substring(0, end));
  }

  /**
   * Reads every section, then checks what sections say about each other. Cross-field checks only look at values
   * that parsed (a missing or invalid one has been reported already and must not cause a second, confusing error).
   */
  static IotpipeConfig read(ConfigNode root) {
    return read(root, ConfigSection.installed());
  }

  /** As {@link #read(ConfigNode)} with these plugin sections (tests name theirs). */
  static IotpipeConfig read(ConfigNode root, List<ConfigSection<?>> sections) {
    Map<String, BrokerConfig> brokers = new LinkedHashMap<>();
    Map<String, ConfigNode> brokerNodes = root.entries("brokers");
    brokerNodes.forEach((name, node) -> brokers.put(name, BrokerConfig.read(name, node)));
    root.markRequired("brokers");
    if (brokers.isEmpty() && !root.has("brokers")) {
      root.error("brokers", "required: at least one broker (an edge and a cloud broker)");
    } else if (brokers.isEmpty()) {
      root.error("brokers", "define at least one broker (an edge and a cloud broker)");
    }
    ConfigNode topoNode = root.child("topology");
    TopologyConfig topology = TopologyConfig.read(topoNode);
    checkRef(topoNode, "balancer", topology.balancer(), brokers);
    if (topology.fanout() != null && !topology.fanout().equals(topology.balancer())) {
      checkRef(topoNode, "fanout", topology.fanout(), brokers); // else it defaults to the balancer, reported above
    }
    for (int i = 0; i < topology.edges().size(); i++) {
      checkRef(topoNode, "edges[" + i + "]", topology.edges().get(i), brokers);
    }
    for (int i = 0; i < topology.failover().size(); i++) {
      checkRef(topoNode, "failover[" + i + "]", topology.failover().get(i), brokers);
    }
    for (String listed : List.of("fanout", "edges", "failover")) {
      topoNode.check(listed, BROKER_REF_RULE, true, null); // declared for the reference: each entry is checked above
    }
    topoNode.check("edges", "the balancer broker cannot also be an edge",
        topology.balancer() == null || !topology.edges().contains(topology.balancer()), ConfigNode.quote(String.valueOf(topology.balancer())));
    String edgeRule = "required for an edge broker: the shovel to the cloud is declared through the management API";
    String fanoutRule = "required for the balancer when fanout is on another broker: partition shovels are declared through the management API";
    brokerNodes.forEach((name, node) -> {
      BrokerConfig b = brokers.get(name);
      boolean noManagement = b != null && b.management() == null && !node.hasErrorAt("management");
      node.check("management", edgeRule, !(noManagement && topology.edges().contains(name)), null);
      node.check("management", fanoutRule, !(noManagement && name.equals(topology.balancer()) && topology.fanout() != null
          && !topology.fanout().equals(topology.balancer())), null);
    });

    ConfigNode contractNode = root.child("contract");
    ContractLimits d = ContractLimits.DEFAULTS;
    ConfigNode attributesNode = contractNode.child("attributes");
    ContractLimits contract = new ContractLimits(
        contractNode.integer("maxBytes", d.maxBytes(), 128, 16 << 20),
        contractNode.integer("maxMetrics", d.maxMetrics(), 1, 10_000),
        contractNode.duration("maxFutureSkew", d.maxFutureSkew()),
        contractNode.duration("maxAge", d.maxAge()),
        contractNode.enumValue("unknownFields", ContractLimits.UnknownFields.class, d.unknownFields()),
        attributesNode.integer("maxFields", d.maxAttributes(), 0, 256),
        (int) attributesNode.bytes("maxBytes", d.maxAttributeBytes(), 0, 64 << 10),
        contractNode.enumValue("futureTimestamps", ContractLimits.FutureTimestamps.class, d.futureTimestamps()));
    attributesNode.finish();
    contractNode.finish();
    IndexerConfig indexer = IndexerConfig.read(root.child("indexer"));
    StorageConfig storage = StorageConfig.read(root.child("storage"));
    String defaultEdge = topology.edges().isEmpty() ? null : topology.edges().getFirst();
    ConfigNode simNode = root.child("simulator");
    SimulatorConfig simulator = SimulatorConfig.read(simNode, defaultEdge);
    if (simulator.edge() != null && simNode.has("edge")) {
      checkRef(simNode, "edge", simulator.edge(), brokers); // the default (the first edge) is checked above
    }
    simNode.check("edge", BROKER_REF_RULE, true, null); // declared for the reference
    ObservabilityConfig obs = ObservabilityConfig.read(root.child("observability"));
    // plugin sections before slo: their settings may imply a sink's freshness target (ConfigSection.visibleWithin)
    Map<String, Object> plugins = new LinkedHashMap<>();
    Map<String, java.time.Duration> visibleWithin = new LinkedHashMap<>(Map.of("storage", SloConfig.filesWithin(storage.rollAge())));
    for (ConfigSection<?> section : sections) {
      ConfigNode node = root.child(section.name());
      Object settings = section.read(node);
      plugins.put(section.name(), settings);
      node.finish();
      if (settings != null) {
        visibleWithin.putAll(ConfigSection.visibleWithin(section, settings));
      }
    }
    SloConfig slo = SloConfig.read(root.child("slo"), topology.sinks(), visibleWithin);
    ConfigNode secNode = root.child("security");
    SecurityConfig security = SecurityConfig.read(secNode, root.has("security"));
    if (security.removeGuest()) {
      // Deleting the user iotpipe itself logs in as would lock every later plan and apply out.
      brokers.forEach((name, b) -> {
        if ("guest".equals(b.username())) {
          String user = "brokers." + ConfigNode.displayKey(name) + ".username";
          secNode.error("removeGuest", user + " is guest, the user this section deletes: apply once with "
              + "removeGuest: false (it creates the administrator account), then log in as that account (" + user
              + ") and set removeGuest back to true");
        }
      });
    }
    root.finish();
    return new IotpipeConfig(brokers, topology, contract, indexer, storage, simulator, obs, slo, security, Map.copyOf(plugins));
  }

  static final String BROKER_REF_RULE = "must name a broker under brokers:";

  private static void checkRef(ConfigNode node, String key, String ref, Map<String, BrokerConfig> brokers) {
    node.check(key, BROKER_REF_RULE, ref == null || brokers.containsKey(ref), ConfigNode.quote(String.valueOf(ref)) + " (defined: "
        + (brokers.isEmpty() ? "none" : brokers.keySet().stream().map(ConfigNode::displayKey).collect(Collectors.joining(", "))) + ")");
  }

  public BrokerConfig broker(String name) {
    BrokerConfig b = brokers.get(name);
    if (b == null) {
      throw new IllegalArgumentException("no broker named " + name + " (defined: " + brokers.keySet() + ")");
    }
    return b;
  }

  /**
   * With {@code topology.wan.mode: batch}: the user the forwarder publishes batches to the cloud as, and so the only
   * {@code user_id} sinks trust a batch from (RabbitMQ refuses a publish whose {@code user_id} is not the connection's
   * user). With {@code security:} the forwarder's own account; without, the balancer's configured {@code username},
   * which the forwarder then logs in with. Null in {@code shovel} mode: no batch is trusted.
   */
  public String batchPublisher() {
    if (!topology.wan().batches()) {
      return null;
    }
    return security.declared() ? topology.names().forwarderAccount() : broker(topology.balancer()).username();
  }

  /** The broker sinks consume from (where the fanout stage and its queues live). */
  public BrokerConfig sinkBroker() {
    return broker(topology.fanout());
  }

  /**
   * This configuration as seen by the roles of another region: {@code region} (the balancer or one of
   * {@code topology.failover}) becomes the broker they consume from. Sinks (search engine, store) stay the same, so
   * both regions write into one index and one store, where {@code (deviceId, seq)} stays unique.
   */
  public IotpipeConfig inRegion(String region) {
    if (region.equals(topology.balancer())) {
      return this;
    }
    if (!topology.failover().contains(region)) {
      throw new IllegalArgumentException("no region " + region + ": the balancer is " + topology.balancer()
          + ", topology.failover lists " + topology.failover());
    }
    return new IotpipeConfig(brokers, topology.inRegion(region), contract, indexer, storage, simulator, observability, slo, security, plugins);
  }

  /** Returns a copy with another storage directory (the demo and tests place data under their own dir). */
  public IotpipeConfig withStorageDir(Path dir) {
    StorageConfig s = storage;
    return new IotpipeConfig(brokers, topology, contract, indexer,
        new StorageConfig(dir, s.formats(), s.rollRows(), s.rollBytes(), s.rollAge(), s.metrics(), s.retention(), s.compaction(), s.consumer(), s.privacy()),
        simulator, observability, slo, security, plugins);
  }

  static Duration orDefault(Duration d, Duration def) {
    return d == null ? def : d;
  }
}
