package io.iotpipe.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * The child-process side of {@link EmbeddedOpenSearch}: one real OpenSearch node (single-node discovery, no
 * security plugin) in this JVM. Arguments: {@code DATA_DIR [HTTP_PORT [TRANSPORT_PORT]]} (a missing or 0 port means
 * a free one). Prints {@code READY <uri>} once the cluster is yellow, and shuts the node down cleanly on SIGTERM or
 * when its stdin reaches end-of-file (the parent that holds the pipe died: no orphaned engines after a kill -9).
 */
public final class OpenSearchNode {

  private OpenSearchNode() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: OpenSearchNode DATA_DIR [HTTP_PORT [TRANSPORT_PORT]]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int http = port(args, 1);
    int transport = port(args, 2);
    OpenSearchRunner runner = new OpenSearchRunner();
    // The runner scans upwards from a base port and gives up at its max (default 9299): we pass the exact port.
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
    watchStdin();
    System.out.println("READY http://127.0.0.1:" + http);
    System.out.flush();
    stopped.await();
  }

  private static int port(String[] args, int i) {
    int p = args.length > i ? Integer.parseInt(args[i]) : 0;
    return p > 0 ? p : EmbeddedOpenSearch.freePort();
  }

  /**
   * Exits (running the shutdown hook) once stdin closes. Skipped when stdin is /dev/null (started in the background
   * by a script with {@code < /dev/null}): that is EOF at once and would stop the node right after it started.
   */
  private static void watchStdin() {
    try {
      Path in = Path.of("/proc/self/fd/0");
      if (Files.exists(in) && Files.isSameFile(in, Path.of("/dev/null"))) {
        return;
      }
    } catch (IOException | UnsupportedOperationException e) {
      // Not Linux or not resolvable: watch anyway.
    }
    Thread t = new Thread(() -> {
      try (InputStream stdin = System.in) {
        byte[] buf = new byte[256];
        while (stdin.read(buf) >= 0) {
          // Input is ignored; only its end matters.
        }
      } catch (IOException e) {
        // A broken stdin is the same as a closed one.
      }
      System.exit(0);
    }, "stdin-watch");
    t.setDaemon(true);
    t.start();
  }
}
