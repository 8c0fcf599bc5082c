package io.iotpipe.broker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * The RabbitMQ side of the seed's system on one machine: an edge node (with MQTT, where devices connect) and a cloud
 * cluster of 1 or 3 nodes, under one directory. Node names get a random suffix so parallel test JVMs never collide.
 * A state file ({@code brokers.json}) lets another process find and stop the nodes.
 */
public final class LocalDeployment implements AutoCloseable {

  public static final String STATE_FILE = "brokers.json";

  private final Path dir;
  private final LocalNode edge;
  private final LocalCluster cloud;

  private LocalDeployment(Path dir, LocalNode edge, LocalCluster cloud) {
    this.dir = dir;
    this.edge = edge;
    this.cloud = cloud;
  }

  /** Starts an edge node and a cloud cluster of {@code cloudNodes} nodes in parallel. */
  public static LocalDeployment start(Path dir, int cloudNodes) {
    return start(dir, cloudNodes, null, null);
  }

  /**
   * As {@link #start(Path, int)}, in secure mode when {@code edgeTls}/{@code cloudTls} are non-null (TLS-only
   * listeners, certificate and password login, no {@code guest}; see {@link LocalNode.Tls}). The edge usually runs
   * without {@code requireClientCert} (password devices), the cloud with it (only iotpipe's services connect there).
   */
  public static LocalDeployment start(Path dir, int cloudNodes, LocalNode.Tls edgeTls, LocalNode.Tls cloudTls) {
    return start(dir, cloudNodes, edgeTls, cloudTls, false);
  }

  /**
   * As above; {@code cloudStreams}: the cloud nodes with the stream plugin, for {@code topology.layout: streams} (the
   * selected distribution must be 4.0, see {@link RabbitDistribution}; its config names their stream endpoints).
   */
  public static LocalDeployment start(Path dir, int cloudNodes, LocalNode.Tls edgeTls, LocalNode.Tls cloudTls, boolean cloudStreams) {
    return start(dir, cloudNodes, edgeTls, cloudTls, cloudStreams, false);
  }

  /**
   * As above; {@code partitionableCloud}: the cloud nodes each in a network namespace of their own (see
   * {@link LocalCluster#network()}), reached by the edge and every client through a bridge.
   */
  public static LocalDeployment start(Path dir, int cloudNodes, LocalNode.Tls edgeTls, LocalNode.Tls cloudTls, boolean cloudStreams,
                                      boolean partitionableCloud) {
    if (cloudNodes < 1) {
      throw new IllegalArgumentException("cloud nodes must be >= 1");
    }
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    // single active consumers on streams need 3.11 or later; the host's package is 3.10
    RabbitDistribution dist = cloudStreams ? RabbitDistribution.withStreams() : RabbitDistribution.selected();
    dist.ensureInstalled();
    dist.ensureCookie();
    LocalNode edge = LocalNode.create(new LocalNode.Spec("edge-" + suffix, dir.resolve("edge"), true, edgeTls), dist);
    CompletableFuture<Void> edgeStarted = CompletableFuture.runAsync(edge::start, r -> Thread.ofPlatform().daemon().start(r));
    LocalCluster cloud;
    try {
      cloud = LocalCluster.start("cloud-" + suffix, cloudNodes, dir.resolve("cloud"), cloudTls, dist, cloudStreams, partitionableCloud);
    } catch (RuntimeException e) {
      edgeStarted.exceptionally(t -> null).join();
      edge.close();
      throw e;
    }
    try {
      edgeStarted.join();
    } catch (RuntimeException e) {
      cloud.close();
      edge.close();
      throw e.getCause() instanceof BrokerException b ? b : e;
    }
    LocalDeployment d = new LocalDeployment(dir, edge, cloud);
    d.writeState();
    return d;
  }

  public Path dir() {
    return dir;
  }

  public LocalNode edge() {
    return edge;
  }

  public LocalCluster cloud() {
    return cloud;
  }

  /** Every node's rabbitmq_prometheus target ({@code host:port}), edge first; nodes without one are left out. */
  public List<String> prometheusTargets() {
    List<String> t = new ArrayList<>();
    if (edge.prometheusTarget() != null) {
      t.add(edge.prometheusTarget());
    }
    cloud.nodes().stream().map(LocalNode::prometheusTarget).filter(java.util.Objects::nonNull).forEach(t::add);
    return t;
  }

  /**
   * A complete iotpipe configuration for these nodes: brokers {@code edge} and {@code cloud}, the topology, the
   * simulator pointing at the edge's MQTT port. {@code extra} is appended verbatim (indexer/storage sections).
   */
  public String configYaml(int partitions, String extra) {
    return configYaml("iotpipe", partitions, extra);
  }

  /** As {@link #configYaml(int, String)} with another name prefix, so several pipelines can share the nodes (tests). */
  public String configYaml(String prefix, int partitions, String extra) {
    String cloudUris = cloud.amqpUris().stream().map(u -> u.toString()).collect(Collectors.joining(", "));
    String streamUris = cloud.streamUris().isEmpty() ? ""
        : "\n    streamUris: [" + cloud.streamUris().stream().map(URI::toString).collect(Collectors.joining(", ")) + "]";
    return """
        # Generated for local nodes started by iotpipe (see brokers.json next to it).
        brokers:
          edge:
            uris: [%s]
            management: %s
            region: eu-west
          cloud:
            uris: [%s]
            management: %s%s
            region: eu-west
        topology:
          prefix: %s
          edges: [edge]
          balancer: cloud
          partitions: %d
          queueType: quorum
        simulator:
          edge: edge
          mqtt: tcp://127.0.0.1:%d
        """.formatted(edge.amqpUri(), edge.managementUri(), cloudUris, cloud.managementUri(), streamUris, prefix, partitions,
        edge.mqttPort()) + (extra == null ? "" : extra);
  }

  private void writeState() {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    root.put("rabbitmq", edge.distribution().id());
    ArrayNode nodes = root.putArray("nodes");
    List<LocalNode> all = new ArrayList<>();
    all.add(edge);
    all.addAll(cloud.nodes());
    for (LocalNode n : all) {
      ObjectNode o = nodes.addObject();
      o.put("role", n == edge ? "edge" : "cloud");
      o.put("name", n.spec().name());
      o.put("dir", n.spec().dir().toAbsolutePath().toString());
      o.put("mqtt", n.spec().mqtt());
      o.put("amqp", n.ports().amqp());
      o.put("management", n.ports().management());
      o.put("distribution", n.ports().distribution());
      o.put("mqttPort", n.ports().mqtt());
      o.put("prometheus", n.ports().prometheus());
      LocalNode.Tls t = n.spec().tls();
      if (t != null) {
        // Paths and the admin's name only: the admin password stays in the node's 0600 config file.
        ObjectNode to = o.putObject("tls");
        to.put("ca", t.caFile().toAbsolutePath().toString());
        to.put("cert", t.certFile().toAbsolutePath().toString());
        to.put("key", t.keyFile().toAbsolutePath().toString());
        to.put("requireClientCert", t.requireClientCert());
        to.put("adminUser", t.adminUser());
      }
    }
    try {
      Files.createDirectories(dir);
      m.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(STATE_FILE).toFile(), root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Re-attaches to nodes started by another process (from the state file in {@code dir}). */
  public static LocalDeployment attach(Path dir) {
    Path state = dir.resolve(STATE_FILE);
    if (!Files.exists(state)) {
      throw new BrokerException("no local brokers recorded in " + state.toAbsolutePath() + " (start them with: ./iotpipe broker start)");
    }
    try {
      JsonNode root = new ObjectMapper().readTree(state.toFile());
      // recorded since RabbitMQ 4.0 support; older files were written by host (3.10) nodes
      RabbitDistribution dist = RabbitDistribution.of(root.path("rabbitmq").asText(RabbitDistribution.HOST));
      LocalNode edge = null;
      List<LocalNode> cloud = new ArrayList<>();
      for (JsonNode o : root.get("nodes")) {
        JsonNode to = o.get("tls");
        LocalNode.Tls tls = to == null ? null : new LocalNode.Tls(Path.of(to.get("ca").asText()), Path.of(to.get("cert").asText()),
            Path.of(to.get("key").asText()), to.get("requireClientCert").asBoolean(), to.get("adminUser").asText(),
            io.iotpipe.core.config.Secret.NONE);
        LocalNode n = LocalNode.attach(new LocalNode.Spec(o.get("name").asText(), Path.of(o.get("dir").asText()), o.get("mqtt").asBoolean(), tls),
            new LocalNode.Ports(o.get("amqp").asInt(), o.get("management").asInt(), o.get("distribution").asInt(), o.get("mqttPort").asInt(),
                o.path("prometheus").asInt(-1)), dist);
        if ("edge".equals(o.get("role").asText())) {
          edge = n;
        } else {
          cloud.add(n);
        }
      }
      return new LocalDeployment(dir, edge, LocalCluster.of(cloud));
    } catch (IOException | RuntimeException e) {
      throw new BrokerException("cannot read " + state + ": " + e.getMessage(), e);
    }
  }

  /** Which RabbitMQ the nodes run. */
  public RabbitDistribution distribution() {
    return edge.distribution();
  }

  /** Stops every node (cloud first, then edge); kills what does not stop. Leaves nothing running. */
  @Override
  public void close() {
    try {
      cloud.close();
    } finally {
      edge.close();
      stopIdleEpmd();
    }
  }

  /**
   * The first node started Erlang's port mapper daemon ({@code epmd}); it outlives the nodes. Stop it when no node
   * of anyone is registered any more, so that nothing we started is left running.
   */
  static void stopIdleEpmd() {
    try {
      Process names = new ProcessBuilder("epmd", "-names").redirectErrorStream(true).start();
      String out = new String(names.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (names.waitFor() == 0 && !out.contains("name ")) {
        new ProcessBuilder("epmd", "-kill").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
      }
    } catch (IOException e) {
      // no epmd on PATH: nothing to stop
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
