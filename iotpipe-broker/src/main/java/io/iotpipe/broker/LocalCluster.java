package io.iotpipe.broker;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * One or more {@link LocalNode}s forming a RabbitMQ cluster (the cloud side). Nodes start in parallel; nodes 2..n
 * then join node 1 ({@code stop_app / join_cluster / start_app}), which measured faster here than peer discovery.
 */
public final class LocalCluster implements AutoCloseable {

  private final List<LocalNode> nodes;
  /** The network the nodes live in when they can be cut apart, else null (the host's loopback). */
  private final NodeNetwork network;

  private LocalCluster(List<LocalNode> nodes) {
    this(nodes, null);
  }

  private LocalCluster(List<LocalNode> nodes, NodeNetwork network) {
    this.nodes = List.copyOf(nodes);
    this.network = network;
  }

  /** Starts {@code size} nodes named {@code prefix-1..n} under {@code dir} and clusters them. */
  public static LocalCluster start(String prefix, int size, Path dir) {
    return start(prefix, size, dir, null);
  }

  /** As {@link #start(String, int, Path)}; {@code tls} non-null starts every node in secure mode. */
  public static LocalCluster start(String prefix, int size, Path dir, LocalNode.Tls tls) {
    return start(prefix, size, dir, tls, RabbitDistribution.selected());
  }

  /** As {@link #start(String, int, Path, LocalNode.Tls)} with nodes of {@code distribution}. */
  public static LocalCluster start(String prefix, int size, Path dir, LocalNode.Tls tls, RabbitDistribution distribution) {
    return start(prefix, size, dir, tls, distribution, false);
  }

  /** As {@link #start(String, int, Path, LocalNode.Tls, RabbitDistribution)}; {@code streams}: with the stream plugin. */
  public static LocalCluster start(String prefix, int size, Path dir, LocalNode.Tls tls, RabbitDistribution distribution,
                                   boolean streams) {
    return start(prefix, size, dir, tls, distribution, streams, false);
  }

  /**
   * As above; {@code partitionable}: every node in a network namespace of its own on a {@link NodeNetwork} (made here,
   * removed by {@link #close()}), so that {@link #network()} can cut one off from the others and from its clients.
   */
  public static LocalCluster start(String prefix, int size, Path dir, LocalNode.Tls tls, RabbitDistribution distribution,
                                   boolean streams, boolean partitionable) {
    NodeNetwork network = partitionable ? NodeNetwork.create(size) : null;
    List<LocalNode> nodes = IntStream.rangeClosed(1, size)
        .mapToObj(i -> LocalNode.create(new LocalNode.Spec(prefix + "-" + i, dir.resolve(prefix + "-" + i), false, tls, streams), distribution,
            network, network == null ? null : network.member(i - 1)))
        .toList();
    LocalCluster c = new LocalCluster(nodes, network);
    try {
      CompletableFuture.allOf(nodes.stream().map(n -> CompletableFuture.runAsync(n::start, r -> Thread.ofPlatform().daemon().start(r))).toArray(CompletableFuture[]::new)).join();
      for (LocalNode n : nodes.subList(1, nodes.size())) {
        n.ctlOrFail("stop_app");
        n.ctlOrFail("join_cluster", nodes.getFirst().nodeName());
        n.ctlOrFail("start_app");
      }
      for (LocalNode n : nodes) {
        n.ctlOrFail("await_startup");
      }
      return c;
    } catch (RuntimeException e) {
      c.close();
      throw e.getCause() instanceof BrokerException b ? b : e;
    }
  }

  public static LocalCluster of(List<LocalNode> nodes) {
    return new LocalCluster(nodes);
  }

  /** The network the nodes can be cut apart in, or null when they share the host's loopback. */
  public NodeNetwork network() {
    return network;
  }

  public List<LocalNode> nodes() {
    return nodes;
  }

  public LocalNode node(int i) {
    return nodes.get(i);
  }

  public List<URI> amqpUris() {
    return nodes.stream().map(LocalNode::amqpUri).toList();
  }

  /** The stream protocol endpoints of the nodes started with the stream plugin (none without it). */
  public List<URI> streamUris() {
    return nodes.stream().filter(n -> n.spec().streams()).map(n -> URI.create("rabbitmq-stream://" + n.host() + ":" + n.streamPort())).toList();
  }

  /** The management API of the first running node. */
  public URI managementUri() {
    return nodes.stream().filter(LocalNode::isRunning).findFirst().orElse(nodes.getFirst()).managementUri();
  }

  /** Any running node, for {@code rabbitmqctl} queries. */
  public LocalNode anyRunning() {
    return nodes.stream().filter(LocalNode::isRunning).findFirst()
        .orElseThrow(() -> new BrokerException("no node of the cluster is running"));
  }

  @Override
  public void close() {
    // Stop in reverse join order; kill whatever refuses, so nothing is ever left behind.
    List<LocalNode> rev = new ArrayList<>(nodes);
    java.util.Collections.reverse(rev);
    try {
      for (LocalNode n : rev) {
        try {
          n.stop();
        } catch (RuntimeException e) {
          n.kill();
        }
      }
    } finally {
      if (network != null) {
        network.close();
      }
    }
  }
}
