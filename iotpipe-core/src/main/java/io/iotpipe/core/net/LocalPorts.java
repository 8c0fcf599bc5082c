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
 * JVM. When the range leaves no room below it, the kernel's choice (port 0), still never twice.
 */
public final class LocalPorts {

  /** Lowest port handed out: above the usual fixed server ports (RabbitMQ's 5672, 15672, 25672 are below 32768 too,
   * but a bind check skips any in use). */
  static final int LOWEST = 10_000;
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private LocalPorts() {}

  /** A port free now, outside the ephemeral range, not handed out before by this JVM. */
  public static int free() {
    return free(ephemeralLow(Path.of("/proc/sys/net/ipv4/ip_local_port_range")));
  }

  /** {@link #free()} for a kernel whose ephemeral range starts at {@code below}. */
  static int free(int below) {
    if (below - LOWEST >= 1_000) {
      for (int i = 0; i < 200; i++) {
        int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
        if (!HANDED_OUT.contains(port) && bindable(port) && HANDED_OUT.add(port)) {
          return port;
        }
      }
    }
    // No room below the range (CI machines may set it to 1024-65535): the kernel's choice, still once per JVM.
    for (int i = 0; i < 200; i++) {
      try (ServerSocket s = new ServerSocket(0)) {
        if (HANDED_OUT.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    throw new IllegalStateException("no free TCP port found in 200 tries: is the machine out of ports?");
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
