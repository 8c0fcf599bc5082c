package io.iotpipe.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A private network on this machine in which cluster nodes can be cut apart: a bridge in the host's network namespace
 * ({@code 10.213.x.1/24}, x random and unused) and, per member, a network namespace joined to the bridge by a veth
 * pair, with an address of its own ({@code 10.213.x.2}, {@code .3}, …). Traffic stays on the machine. Processes of the
 * host (clients, the edge node, {@code rabbitmqctl}) reach the members through the bridge; {@link #cut(int)} takes a
 * member's end of the bridge down, so its packets are dropped silently both ways, as in a real partition (no reset,
 * no "unreachable": peers notice by their own time-outs), and {@link #heal(int)} brings it back.
 *
 * <p>Needs root and iproute2 ({@code ip netns}). Every name starts with {@value #PREFIX} and a random id; an owner
 * file under {@code /run/iotpipe-netns} records the JVM that made it, so a later network sweeps up what a crashed JVM
 * left (namespaces with their processes, veths, bridge) and never touches a live one's. Hand-written: there is no
 * Java library for Linux network namespaces, and the {@code ip} command is what an operator would use.
 */
public final class NodeNetwork implements AutoCloseable {

  /** Interface and namespace names begin with it (interface names are at most 15 characters). */
  static final String PREFIX = "iotns";
  private static final Path OWNERS = Path.of("/run/iotpipe-netns");

  /** One member: its namespace, the host-side veth (what a cut takes down) and its address. */
  public record Member(String namespace, String hostVeth, String ip) {}

  private final String id;
  private final String bridge;
  private final String subnet;
  private final List<Member> members;
  private volatile boolean closed;

  private NodeNetwork(String id, String subnet, List<Member> members) {
    this.id = id;
    this.bridge = PREFIX + id + "b";
    this.subnet = subnet;
    this.members = members;
  }

  /** Creates the bridge and {@code size} namespaces, each with its loopback up and an address on the bridge. */
  public static NodeNetwork create(int size) {
    sweep();
    String id = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt(1 << 16));
    String subnet = freeSubnet();
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      members.add(new Member(PREFIX + id + "n" + (i + 1), PREFIX + id + "h" + (i + 1), subnet + "." + (i + 2)));
    }
    NodeNetwork n = new NodeNetwork(id, subnet, List.copyOf(members));
    try {
      Files.createDirectories(OWNERS);
      Files.writeString(OWNERS.resolve(id), String.valueOf(ProcessHandle.current().pid()));
      ip("link", "add", n.bridge, "type", "bridge");
      ip("addr", "add", subnet + ".1/24", "dev", n.bridge);
      ip("link", "set", n.bridge, "up");
      for (Member m : members) {
        String peer = PREFIX + id + "p" + m.namespace().substring(m.namespace().lastIndexOf('n') + 1);
        ip("netns", "add", m.namespace());
        ip("link", "add", m.hostVeth(), "type", "veth", "peer", "name", peer);
        ip("link", "set", peer, "netns", m.namespace());
        ip("link", "set", m.hostVeth(), "master", n.bridge);
        ip("link", "set", m.hostVeth(), "up");
        ip("-n", m.namespace(), "addr", "add", m.ip() + "/24", "dev", peer);
        ip("-n", m.namespace(), "link", "set", peer, "up");
        // epmd and the CLI inside the namespace talk over its own loopback
        ip("-n", m.namespace(), "link", "set", "lo", "up");
      }
      return n;
    } catch (IOException | RuntimeException e) {
      n.close();
      throw e instanceof BrokerException b ? b : new BrokerException("cannot set up the node network: " + e.getMessage(), e);
    }
  }

  private static String freeSubnet() {
    String used = run(List.of("ip", "-4", "addr"), false);
    for (int attempt = 0; attempt < 50; attempt++) {
      String s = "10.213." + ThreadLocalRandom.current().nextInt(1, 255);
      if (!used.contains(" " + s + ".")) {
        return s;
      }
    }
    throw new BrokerException("no free 10.213.x.0/24 subnet for the node network (ip -4 addr shows them all in use)");
  }

  public List<Member> members() {
    return members;
  }

  public Member member(int i) {
    return members.get(i);
  }

  /** {@code 10.213.x}: the members' addresses are {@code 10.213.x.2…}. */
  public String subnet() {
    return subnet;
  }

  /**
   * Starts Erlang's port mapper inside {@code m}'s namespace (idempotent). The host's epmd: one started by the node in a
   * RabbitMQ 4.0 root would live in the node's mount namespace and keep its mounts alive (see {@link RabbitDistribution}).
   */
  void ensureEpmd(Member m) {
    if (!Files.isExecutable(Path.of("/usr/bin/epmd"))) {
      throw new BrokerException("nodes in network namespaces need the host's epmd (/usr/bin/epmd): apt-get install erlang-base");
    }
    run(List.of("ip", "netns", "exec", m.namespace(), "/usr/bin/epmd", "-daemon"), true);
  }

  /** {@code cmd} run inside {@code m}'s network namespace. */
  List<String> inside(Member m, List<String> cmd) {
    List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", m.namespace()));
    c.addAll(cmd);
    return c;
  }

  /** Cuts member {@code i} off: its end of the bridge goes down, every packet to or from it is dropped. */
  public void cut(int i) {
    ip("link", "set", members.get(i).hostVeth(), "down");
  }

  /** Ends {@link #cut(int)}. */
  public void heal(int i) {
    ip("link", "set", members.get(i).hostVeth(), "up");
  }

  /** Kills what still runs in the namespaces (nodes, epmd), then deletes the veths, the namespaces and the bridge. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    remove(id, members.stream().map(Member::namespace).toList());
  }

  private static void remove(String id, List<String> namespaces) {
    for (String ns : namespaces) {
      for (String pid : run(List.of("ip", "netns", "pids", ns), false).split("\\s+")) {
        if (pid.matches("\\d+")) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
          });
        }
      }
      run(List.of("ip", "netns", "del", ns), false);
    }
    // deleting a namespace deletes the veth ends inside it and with them their peers; the rest by name
    for (String link : run(List.of("ip", "-o", "link", "show"), false).split("\n")) {
      String[] f = link.split(":\\s+");
      if (f.length > 1) {
        String name = f[1].split("@")[0];
        if (name.startsWith(PREFIX + id)) {
          run(List.of("ip", "link", "del", name), false);
        }
      }
    }
    try {
      Files.deleteIfExists(OWNERS.resolve(id));
    } catch (IOException e) {
      // the owner file of a network that is gone: harmless
    }
  }

  /** Removes networks whose owning JVM is gone (a crash or a kill skipped {@link #close()}). */
  static void sweep() {
    List<String> ids = new ArrayList<>();
    for (String line : run(List.of("ip", "netns", "list"), false).split("\n")) {
      String ns = line.split("\\s+")[0];
      if (ns.startsWith(PREFIX) && ns.length() > PREFIX.length() + 4) {
        String id = ns.substring(PREFIX.length(), PREFIX.length() + 4);
        if (!ids.contains(id)) {
          ids.add(id);
        }
      }
    }
    for (String line : run(List.of("ip", "-o", "link", "show"), false).split("\n")) {
      String[] f = line.split(":\\s+");
      if (f.length > 1 && f[1].startsWith(PREFIX) && f[1].length() > PREFIX.length() + 4) {
        String id = f[1].substring(PREFIX.length(), PREFIX.length() + 4);
        if (!ids.contains(id)) {
          ids.add(id);
        }
      }
    }
    for (String id : ids) {
      if (!ownerAlive(id)) {
        List<String> ns = new ArrayList<>();
        for (String line : run(List.of("ip", "netns", "list"), false).split("\n")) {
          String n = line.split("\\s+")[0];
          if (n.startsWith(PREFIX + id)) {
            ns.add(n);
          }
        }
        remove(id, ns);
      }
    }
  }

  private static boolean ownerAlive(String id) {
    try {
      long pid = Long.parseLong(Files.readString(OWNERS.resolve(id)).trim());
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  private static void ip(String... args) {
    List<String> c = new ArrayList<>(List.of("ip"));
    c.addAll(List.of(args));
    run(c, true);
  }

  private static String run(List<String> cmd, boolean check) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new BrokerException(String.join(" ", cmd) + " did not finish within 30 s");
      }
      if (check && p.exitValue() != 0) {
        throw new BrokerException(String.join(" ", cmd) + " failed: " + out.strip()
            + " (node networks need root and iproute2's ip netns, veth and bridge support)");
      }
      return out;
    } catch (IOException e) {
      throw new BrokerException("cannot run " + cmd.getFirst() + " (install iproute2; node networks need root): " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while running " + String.join(" ", cmd));
    }
  }

  @Override
  public String toString() {
    return "node network " + bridge + " " + subnet + ".0/24 " + members;
  }
}
