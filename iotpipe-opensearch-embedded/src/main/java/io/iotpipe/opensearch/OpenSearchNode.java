package io.iotpipe.opensearch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * The child-process side of {@link EmbeddedOpenSearch}: one real OpenSearch node (single-node discovery, no
 * security plugin) in this JVM. Arguments: {@code DATA_DIR HTTP_PORT TRANSPORT_PORT}. Prints {@code READY <uri>}
 * once the cluster is yellow, and shuts the node down cleanly on SIGTERM.
 */
public final class OpenSearchNode {

  private OpenSearchNode() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int http = Integer.parseInt(args[1]);
    int transport = Integer.parseInt(args[2]);
    OpenSearchRunner runner = new OpenSearchRunner();
    runner.setMaxHttpPort(65_535);
    runner.onBuild((index, settings) -> {
      settings.put("http.port", http);
      settings.put("transport.port", transport);
      settings.put("network.host", "127.0.0.1");
      // A shared CI disk may be nearly full; the watermarks would turn indices read-only and look like data loss.
      settings.put("cluster.routing.allocation.disk.threshold_enabled", false);
      settings.put("action.auto_create_index", true);
    });
    runner.build(OpenSearchRunner.newConfigs().basePath(dir.toAbsolutePath().toString()).numOfNode(1)
        .clusterName("iotpipe-embedded").baseHttpPort(http - 1).disableESLogger().printOnFailure());
    runner.ensureYellow();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        runner.close();
      } catch (IOException e) {
        System.err.println("closing OpenSearch: " + e.getMessage());
      }
      stopped.countDown();
    }));
    System.out.println("READY http://127.0.0.1:" + http);
    System.out.flush();
    stopped.await();
  }
}
