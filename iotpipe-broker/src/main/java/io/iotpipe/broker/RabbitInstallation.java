package io.iotpipe.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The installed {@code rabbitmq-server} (Debian package) and the one-time host set-up our local nodes need.
 *
 * <p>We call the binaries under {@code /usr/lib/rabbitmq/bin} directly: the {@code /usr/sbin} wrappers switch to the
 * {@code rabbitmq} user, whose Erlang cookie differs from ours, so every {@code rabbitmqctl} call would be rejected
 * ("Invalid challenge reply").
 */
public final class RabbitInstallation {

  static final Path BIN = Path.of(System.getProperty("iotpipe.rabbitmq.bin", "/usr/lib/rabbitmq/bin"));

  private RabbitInstallation() {}

  static Path server() {
    return BIN.resolve("rabbitmq-server");
  }

  static Path ctl() {
    return BIN.resolve("rabbitmqctl");
  }

  /**
   * Makes sure the server is installed: installs it with apt when missing and we are root (and
   * {@code IOTPIPE_NO_INSTALL} is not 1), otherwise fails with the exact command to run.
   */
  public static synchronized void ensureInstalled() {
    if (Files.isExecutable(server())) {
      return;
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    boolean apt = Files.isExecutable(Path.of("/usr/bin/apt-get"));
    if (root && apt && !"1".equals(System.getenv("IOTPIPE_NO_INSTALL"))) {
      run(List.of("apt-get", "update", "-qq"), 600);
      run(List.of("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "rabbitmq-server"), 900);
      if (Files.isExecutable(server())) {
        return;
      }
    }
    throw new BrokerException("rabbitmq-server is not installed (" + server() + " missing). Install it with: "
        + "sudo apt-get install rabbitmq-server — or run iotpipe against an existing RabbitMQ (see README, "
        + "'Run against your own RabbitMQ and Elasticsearch').");
  }

  private static void run(List<String> cmd, int timeoutSeconds) {
    try {
      Process p = new ProcessBuilder(cmd).inheritIO().start();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new BrokerException(String.join(" ", cmd) + " failed; install rabbitmq-server by hand and retry");
      }
    } catch (IOException e) {
      throw new BrokerException("cannot run " + cmd.getFirst() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while installing rabbitmq-server");
    }
  }

  /**
   * All our nodes and {@code rabbitmqctl} must share one Erlang cookie ({@code $HOME/.erlang.cookie}, mode 0400).
   * Created atomically, so several JVMs starting nodes at the same time agree on it.
   */
  static synchronized void ensureCookie() {
    Path cookie = Path.of(System.getProperty("user.home"), ".erlang.cookie");
    if (Files.exists(cookie)) {
      return;
    }
    try {
      SecureRandom r = new SecureRandom();
      StringBuilder s = new StringBuilder();
      for (int i = 0; i < 20; i++) {
        s.append((char) ('A' + r.nextInt(26)));
      }
      Path tmp = Files.createTempFile(cookie.getParent(), ".erlang.cookie", ".tmp");
      Files.writeString(tmp, s);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r--------"));
      try {
        Files.move(tmp, cookie, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        Files.deleteIfExists(tmp);
        if (!Files.exists(cookie)) {
          throw e;
        }
      }
    } catch (IOException e) {
      throw new BrokerException("cannot create the Erlang cookie " + cookie + ": " + e.getMessage());
    }
  }
}
