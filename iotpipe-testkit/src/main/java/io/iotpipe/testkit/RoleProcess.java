package io.iotpipe.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code iotpipe run --role R} in a JVM of its own, as an operator runs it: what the chaos suite and the tests stop
 * gracefully (SIGTERM) or kill (SIGKILL) to prove that neither loses nor doubles a reading.
 */
public final class RoleProcess {

  /** The CLI's entry point, by name: the test kit sits below the CLI module and must not depend on it. */
  static final String MAIN_CLASS = "io.iotpipe.cli.Main";

  private final String role;
  private final Path config;
  private final String id;
  private final Path log;
  private final int port;
  private Process process;

  public RoleProcess(String role, Path config, String id, Path logDir) {
    this.role = role;
    this.config = config;
    this.id = id;
    this.log = logDir.resolve(id + ".log");
    this.port = freePort();
  }

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The port of its /health and /metrics. */
  public int port() {
    return port;
  }

  /** Messages the process acked after its sink made them durable (its /metrics), 0 while it is not answering. */
  public long delivered() {
    try {
      var client = java.net.http.HttpClient.newHttpClient();
      var resp = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(java.time.Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.ofLines());
      return resp.body().filter(l -> l.startsWith("iotpipe_consumer_delivered_total"))
          .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  public String role() {
    return role;
  }

  public RoleProcess start() throws IOException {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
        "-cp", System.getProperty("java.class.path"), MAIN_CLASS,
        "run", "--role", role, "--config", config.toString(), "--instance-id", id, "--port", String.valueOf(port));
    process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    return this;
  }

  /** SIGTERM: the process stops consuming, flushes, acks what is durable and exits. Returns whether it exited in time. */
  public boolean terminate(long timeoutSeconds) throws InterruptedException {
    if (process == null) {
      return true;
    }
    process.destroy();
    return process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
  }

  /** SIGKILL: no flush, no acks; the broker redelivers what was unacked. */
  public void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
