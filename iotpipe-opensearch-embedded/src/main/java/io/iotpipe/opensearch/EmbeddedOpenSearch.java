package io.iotpipe.opensearch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSearch node for tests, the demo and benchmarks, run in a child JVM: its ~120 jars stay out of the
 * pipeline's process, its CPU and heap are measured apart from the indexer's, and it can be stopped and restarted
 * (an outage) or killed like a real server. Same data dir and port across restarts.
 */
public final class EmbeddedOpenSearch implements AutoCloseable {

  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private final Path dir;
  private final int httpPort;
  private final int transportPort;
  private final String heap;
  private Process process;

  private EmbeddedOpenSearch(Path dir, int httpPort, int transportPort, String heap) {
    this.dir = dir;
    this.httpPort = httpPort;
    this.transportPort = transportPort;
    this.heap = heap;
  }

  /** Starts a node on free ports with its data in {@code dir}; returns once it answers HTTP with status yellow. */
  public static EmbeddedOpenSearch start(Path dir) {
    return start(dir, "768m");
  }

  public static EmbeddedOpenSearch start(Path dir, String heap) {
    EmbeddedOpenSearch os = new EmbeddedOpenSearch(dir, freePort(), freePort(), heap);
    os.start();
    return os;
  }

  public URI httpUri() {
    return URI.create("http://127.0.0.1:" + httpPort);
  }

  public long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** (Re)starts the node with the same data dir and ports. */
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    try {
      Files.createDirectories(dir);
      Path log = dir.resolve("opensearch.log");
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(List.of("-Xms" + heap, "-Xmx" + heap, "-XX:+UseG1GC", "--enable-native-access=ALL-UNNAMED",
          "-Dlog4j2.disable.jmx=true", "-cp", System.getProperty("java.class.path"), OpenSearchNode.class.getName(),
          dir.resolve("node").toString(), String.valueOf(httpPort), String.valueOf(transportPort)));
      process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException("OpenSearch exited with code " + process.exitValue() + " while starting; last lines of "
              + log + ":\n" + tail(log));
        }
        if (healthy()) {
          return;
        }
        process.waitFor(250, TimeUnit.MILLISECONDS); // poll interval while the node boots
      }
      stop();
      throw new IllegalStateException("OpenSearch did not become ready within 120 s; see " + log + ":\n" + tail(log));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start OpenSearch: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting OpenSearch");
    }
  }

  private boolean healthy() {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(httpUri().resolve("/_cluster/health?wait_for_status=yellow&timeout=1s"))
          .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && !r.body().contains("\"red\"");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** Stops the node cleanly (SIGTERM, as a service manager would); waits until the process is gone. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the node and starts it again on the same data dir and port (an outage a client must ride out). */
  public synchronized void restart() {
    stop();
    start();
  }

  /** Kills the node abruptly ({@code kill -9}). */
  public synchronized void kill() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  /**
   * Runs one node in this JVM, for scripts and benchmarks that launch the engine as their own process:
   * {@code DATA_DIR [HTTP_PORT]} (no or 0 port: a free one). Prints {@code READY http://127.0.0.1:PORT} on stdout
   * when the cluster is yellow; stops cleanly on SIGTERM or when stdin closes.
   */
  public static void main(String[] args) throws Exception {
    OpenSearchNode.main(args);
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
