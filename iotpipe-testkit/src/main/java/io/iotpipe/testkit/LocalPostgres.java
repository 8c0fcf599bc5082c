package io.iotpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away PostgreSQL 15 cluster (the Debian package's {@code initdb} and {@code pg_ctl}) in a temp dir on a free
 * port, as the lake's catalog database several machines would share: for the lake's tests and the chaos scenario
 * that takes the catalog away ({@link #stop}, then {@link #start()} again on the same port and data). PostgreSQL
 * refuses to run as root, so when the tests run as root the cluster belongs to {@code nobody}.
 */
public final class LocalPostgres implements AutoCloseable {

  static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");

  private final Path dir;
  private final Path data;
  private final int port;
  private final boolean root;

  private LocalPostgres(Path dir, Path data, int port, boolean root) {
    this.dir = dir;
    this.data = data;
    this.port = port;
    this.root = root;
  }

  public static boolean installed() {
    return Files.isExecutable(BIN.resolve("initdb"));
  }

  /** Creates and starts a cluster in a new directory under the system temp dir (JUnit's temp dirs are not open to {@code nobody}). */
  public static LocalPostgres start() throws IOException, InterruptedException {
    if (!installed()) {
      throw new IllegalStateException("PostgreSQL 15 is not installed (" + BIN + "/initdb missing): apt-get install postgresql");
    }
    Path dir = Files.createTempDirectory("iotpipe-pg-");
    Path data = dir.resolve("pg");
    Files.createDirectories(data);
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      run(List.of("chown", "-R", "nobody", dir.toString()), false);
      run(List.of("chmod", "700", data.toString()), false);
    }
    LocalPostgres pg = new LocalPostgres(dir, data, io.iotpipe.core.net.LocalPorts.free(), root);
    run(List.of(BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", "iotpipe", "--auth=trust", "-E", "UTF8"), root);
    pg.resume();
    return pg;
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
  }

  /** The database user (trust authentication: no password). */
  public String user() {
    return "iotpipe";
  }

  /** Starts the stopped cluster again, same port and data; returns once it accepts connections. */
  public void resume() throws IOException, InterruptedException {
    run(List.of(BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", dir.resolve("pg.log").toString(), "-w", "-t", "60",
        "-o", "-p " + port + " -k " + data + " -c listen_addresses=127.0.0.1 -c fsync=on", "start"), root);
  }

  /** Stops the cluster at once ({@code -m immediate}: open connections are cut, as when the database host dies). */
  public void stop() throws IOException, InterruptedException {
    run(List.of(BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop"), root);
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
      try {
        stop();
      } catch (IllegalStateException e) {
        // already stopped (an outage left it down): only the files remain
      }
      run(List.of("rm", "-rf", dir.toString()), false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
