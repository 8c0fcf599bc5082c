package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test tooling: a throw-away PostgreSQL 15 cluster (the Debian package's {@code initdb} and {@code pg_ctl}) in a temp
 * dir on a free port, as the catalog database several machines would share. PostgreSQL refuses to run as root, so
 * when the tests run as root the cluster belongs to {@code nobody}.
 */
final class LocalPostgres implements AutoCloseable {

  static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");

  private final Path dir;
  private final Path data;
  private final int port;

  private LocalPostgres(Path dir, Path data, int port) {
    this.dir = dir;
    this.data = data;
    this.port = port;
  }

  static boolean installed() {
    return Files.isExecutable(BIN.resolve("initdb"));
  }

  /** Starts a cluster in a new directory under the system temp dir (JUnit's temp dirs are not open to {@code nobody}). */
  static LocalPostgres start() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("iotpipe-pg-");
    Path data = dir.resolve("pg");
    Files.createDirectories(data);
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      run(List.of("chown", "-R", "nobody", dir.toString()), false);
      run(List.of("chmod", "700", data.toString()), false);
    }
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    run(List.of(BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", "iotpipe", "--auth=trust", "-E", "UTF8"), root);
    run(List.of(BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("pg.log").toString(), "-w", "-t", "60",
        "-o", "-p " + port + " -k " + data + " -c listen_addresses=127.0.0.1 -c fsync=on", "start"), root);
    return new LocalPostgres(dir, data, port);
  }

  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  private static void run(List<String> cmd, boolean asNobody) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (asNobody) {
      full.addAll(List.of("runuser", "-u", "nobody", "--"));
    }
    full.addAll(cmd);
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", full) + " failed:\n" + out);
    }
  }

  @Override
  public void close() {
    try {
      run(List.of(BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop"),
          "root".equals(System.getProperty("user.name")));
      run(List.of("rm", "-rf", dir.toString()), false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
