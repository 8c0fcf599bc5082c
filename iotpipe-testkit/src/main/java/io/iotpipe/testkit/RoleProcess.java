package io.iotpipe.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code iotpipe run --role R} in a JVM of its own, as an operator runs it: what the chaos suite and the tests stop
 * gracefully (SIGTERM) or kill (SIGKILL) to prove that neither loses nor doubles a reading. Role {@value #FORWARD} is
 * the edge forwarder ({@code iotpipe forward}) of {@code topology.wan.mode: batch}.
 */
public final class RoleProcess {

  /** The CLI's entry point, by name: the test kit sits below the CLI module and must not depend on it. */
  static final String MAIN_CLASS = "io.iotpipe.cli.Main";

  /** The pseudo-role of {@code iotpipe forward}. */
  public static final String FORWARD = "forward";

  private final String role;
  private final Path config;
  private final String id;
  private final Path log;
  private final int port;
  private String heap = "512m";
  private java.util.Map<String, String> environment = java.util.Map.of();
  private Process process;

  public RoleProcess(String role, Path config, String id, Path logDir) {
    this.role = role;
    this.config = config;
    this.id = id;
    this.log = logDir.resolve(id + ".log");
    this.port = freePort();
  }

  private static int freePort() {
    return io.iotpipe.core.net.LocalPorts.free();
  }

  /** The port of its /health and /metrics. */
  public int port() {
    return port;
  }

  /**
   * The maximum heap of the process ({@code -Xmx}, e.g. "256m"), or null for the JVM's default (a quarter of the
   * machine's memory). Default: 512m. Call before {@link #start()}.
   */
  public RoleProcess heap(String xmx) {
    if (xmx != null && !xmx.matches("\\d+[kKmMgG]?")) {
      throw new IllegalArgumentException("heap size '" + xmx + "' is not a JVM size: use e.g. 256m or 2g");
    }
    this.heap = xmx;
    return this;
  }

  /**
   * Extra environment variables of the process (e.g. the broker password a secured config reads from
   * {@code ${IOTPIPE_BROKER_PASSWORD}}: secrets go into the environment, never onto the command line). Call before
   * {@link #start()}.
   */
  public RoleProcess environment(java.util.Map<String, String> env) {
    this.environment = java.util.Map.copyOf(env);
    return this;
  }

  /** Messages the process acked after its sink made them durable (its /metrics), 0 while it is not answering. */
  public long delivered() {
    return scrape().stream().filter(l -> l.startsWith("iotpipe_consumer_delivered_total"))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  /** The lines of the process's Prometheus /metrics page, empty while it is not answering. */
  public List<String> scrape() {
    try {
      var client = java.net.http.HttpClient.newHttpClient();
      var resp = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(java.time.Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.ofLines());
      return resp.statusCode() == 200 ? resp.body().toList() : List.of();
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /** The OS process id (for CPU accounting), or -1 before {@link #start()}. */
  public long pid() {
    return process == null ? -1 : process.pid();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  public Path log() {
    return log;
  }

  public String role() {
    return role;
  }

  /**
   * The product's class path when the launcher names it (a role runs as in production, without the tooling's jars),
   * else this JVM's (tests).
   */
  static String classPath() {
    String product = System.getProperty("iotpipe.productClasspath");
    if (product == null || product.isBlank()) {
      return System.getProperty("java.class.path");
    }
    // The launcher passes "dir/*" entries as the shell leaves them: the JVM expands them itself.
    return product;
  }

  public RoleProcess start() throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED"));
    if (heap != null) {
      cmd.add("-Xmx" + heap);
    }
    cmd.addAll(classDataSharing(role));
    String extra = System.getenv("IOTPIPE_ROLE_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      // e.g. "-XX:StartFlightRecording=filename=index.jfr" to profile the role a benchmark runs; {role} is replaced
      cmd.addAll(List.of(extra.replace("{role}", role + "-" + id).trim().split("\\s+")));
    }
    cmd.addAll(List.of("-cp", classPath(), MAIN_CLASS));
    cmd.addAll(role.equals(FORWARD) ? List.of(FORWARD) : List.of("run", "--role", role));
    cmd.addAll(List.of("--config", config.toString(), "--instance-id", id, "--port", String.valueOf(port)));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(environment);
    process = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    return this;
  }

  /**
   * JVM options for an application class-data archive per role and class path (AppCDS, JDK 19+): the JVM writes it
   * when a role process exits normally and maps it at later starts, which halves the time from exec to a running
   * consumer (measured: sinks created at +1.4–1.8 s without, +0.7 s with, on 2 busy cores) — the restart after a
   * crash is down time for the role's partitions. The archive's name carries the class path's newest modification
   * time: JDK 25 does not rewrite an archive whose jars changed ("shared class paths mismatch"), it only runs without
   * it, so after a rebuild every restart lost the saving (measured: command parsed at +1.7 s instead of +0.8 s).
   * Archives of older builds are deleted. CDS messages are kept out of the role's log.
   */
  static List<String> classDataSharing(String role) {
    String cp = classPath();
    String key = Integer.toHexString((System.getProperty("java.home") + java.io.File.pathSeparator + cp).hashCode())
        + "-" + Long.toHexString(newestModification(cp));
    String home = System.getProperty("iotpipe.home");
    Path dir = home != null ? Path.of(home, "iotpipe-cli", "target", "cds") : Path.of(System.getProperty("java.io.tmpdir"), "iotpipe-cds");
    String name = "role-" + role + "-" + key + ".jsa";
    try {
      java.nio.file.Files.createDirectories(dir);
      try (var old = java.nio.file.Files.newDirectoryStream(dir, "role-" + role + "-*.jsa")) {
        for (Path f : old) {
          if (!f.getFileName().toString().equals(name)) {
            java.nio.file.Files.deleteIfExists(f);
          }
        }
      }
    } catch (IOException e) {
      return List.of(); // no place for an archive: start without one
    }
    return List.of("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + dir.resolve(name), "-Xlog:cds=off,cds+dynamic=off");
  }

  /** The newest modification time (millis) of the class path's jars and directories ({@code dir/*} entries too). */
  static long newestModification(String classPath) {
    long newest = 0;
    for (String entry : classPath.split(java.io.File.pathSeparator)) {
      if (entry.isEmpty()) {
        continue;
      }
      java.io.File f = new java.io.File(entry.endsWith("*") ? entry.substring(0, entry.length() - 1) : entry);
      newest = Math.max(newest, f.lastModified());
      java.io.File[] jars = entry.endsWith("*") ? f.listFiles() : null;
      if (jars != null) {
        for (java.io.File j : jars) {
          newest = Math.max(newest, j.lastModified());
        }
      }
    }
    return newest;
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
