package io.iotpipe.testkit;

import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.topology.TopologyPlanner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension holding real local RabbitMQ nodes (an edge and a 1- or 3-node cloud), with helpers for a
 * pipeline config under a random name prefix. The nodes are shared by every test class of the test JVM that asks for
 * the same cloud size (on 2 cores an edge and a cloud node take about half a minute to boot, once per class before);
 * tests stay apart by name prefix — never each other's queues — and a test that stops a node starts it again:
 * <pre>{@code
 * @RegisterExtension static final LocalNodes nodes = LocalNodes.cloud(1);
 * IotpipeConfig cfg = nodes.applied(4);   // topology declared, prefix random
 * }</pre>
 */
public final class LocalNodes implements BeforeAllCallback {

  private final int cloudNodes;
  private Path dir;
  private LocalDeployment deployment;

  private LocalNodes(int cloudNodes) {
    this.cloudNodes = cloudNodes;
  }

  /** An edge node and a cloud of {@code nodes} nodes (1, or 3 for a quorum cluster). */
  public static LocalNodes cloud(int nodes) {
    return new LocalNodes(nodes);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    Shared shared = context.getRoot().getStore(ExtensionContext.Namespace.create(LocalNodes.class))
        .getOrComputeIfAbsent("cloud-" + cloudNodes, k -> Shared.start(cloudNodes), Shared.class);
    dir = shared.dir;
    deployment = shared.deployment;
  }

  /** The nodes of one cloud size for the whole test run; JUnit closes them with its root context. */
  private record Shared(Path dir, LocalDeployment deployment) implements AutoCloseable {

    static Shared start(int cloudNodes) {
      try {
        Path dir = Files.createTempDirectory("iotpipe-nodes-");
        return new Shared(dir, LocalDeployment.start(dir, cloudNodes));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public void close() {
      deployment.close();
      Cleanup.deleteTree(dir);
    }
  }

  public LocalDeployment deployment() {
    return deployment;
  }

  public Path dir() {
    return dir;
  }

  /** A fresh name prefix, e.g. {@code t1a2b3c4d}: every test its own exchanges and queues. */
  public static String prefix() {
    return "t" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** A config for these nodes with a random prefix; {@code edit} may change the YAML first. */
  public IotpipeConfig config(int partitions, UnaryOperator<String> edit) {
    return IotpipeConfig.parse("test", edit.apply(deployment.configYaml(prefix(), partitions, null)), k -> null);
  }

  public IotpipeConfig config(int partitions) {
    return config(partitions, UnaryOperator.identity());
  }

  /** {@link #config(int)} with its topology declared on the nodes. */
  public IotpipeConfig applied(int partitions) {
    IotpipeConfig cfg = config(partitions);
    TopologyPlanner p = new TopologyPlanner();
    p.apply(cfg, p.plan(cfg));
    return cfg;
  }

  /** Best-effort removal of a test directory (node data dirs can be large). */
  static final class Cleanup {
    private Cleanup() {}

    static void deleteTree(Path root) {
      if (root == null || !Files.exists(root)) {
        return;
      }
      try (var paths = Files.walk(root)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
