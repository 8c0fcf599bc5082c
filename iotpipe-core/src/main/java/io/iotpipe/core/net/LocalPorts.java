package io.iotpipe.core.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports for servers this machine starts for itself (local brokers, search engine, S3 server, Prometheus,
 * role processes), handed to a child process that binds them later. Hand-written because the usual trick, binding
 * port 0, takes a port from the kernel's ephemeral range, which outgoing connections draw from too: between choosing
 * and binding, a client socket could take it ({@code eaddrinuse} on a RabbitMQ node's start, seen in a test run).
 * Ports below the ephemeral range are never given to client sockets; each is checked free and handed out once per
 * JVM. When the range leaves no room below it, port 0 as before.
 */
public final class LocalPorts {

  /** Lowest port handed out: above the usual fixed server ports (RabbitMQ's 5672, 15672, 25672 are below 32768 too,
   * but a bind check skips any in use). */
  static final int LOWEST = 10_000;
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private LocalPorts() {}

  /** A port free now, outside the ephemeral range, not handed out before by this JVM. */
  public static int free() {
    int below = ephemeralLow(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
    if (below - LOWEST >= 1_000) {
      for (int i = 0; i < 200; i++) {
        int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
        if (!HANDED_OUT.contains(port) && bindable(port) && HANDED_OUT.add(port)) {
          return port;
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0)) {
      HANDED_OUT.add(s.getLocalPort());
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The first port of the kernel's ephemeral range (Linux), else the IANA default 49152. */
  static int ephemeralLow(Path rangeFile) {
    try {
      String[] range = Files.readString(rangeFile).trim().split("\\s+");
      return Integer.parseInt(range[0]);
    } catch (IOException | RuntimeException e) {
      return 49_152;
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
