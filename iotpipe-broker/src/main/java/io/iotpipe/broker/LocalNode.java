package io.iotpipe.broker;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One RabbitMQ node run from the installed {@code rabbitmq-server}, with its own name, ports, data directory and
 * plugins, so several nodes (and several test JVMs) share one machine without seeing each other.
 *
 * <p>A node keeps its name, ports and data dir across {@link #stop()}/{@link #kill()} and {@link #start()}: that is
 * what a restarted production node looks like (quorum members rejoin, durable messages survive).
 */
public final class LocalNode implements AutoCloseable {

  /**
   * What to start. {@code mqtt} enables the MQTT plugin (edge nodes, where devices connect); {@code tls} non-null
   * starts the node in secure mode (see {@link Tls}); {@code streams} enables the stream protocol plugin (cloud nodes
   * of {@code topology.layout: streams}) on a port of its own.
   */
  public record Spec(String name, Path dir, boolean mqtt, Tls tls, boolean streams) {
    public Spec(String name, Path dir, boolean mqtt, Tls tls) {
      this(name, dir, mqtt, tls, false);
    }

    public Spec(String name, Path dir, boolean mqtt) {
      this(name, dir, mqtt, null);
    }
  }

  /**
   * Secure mode: every listener (AMQP, MQTT, management) speaks TLS only, plaintext listeners are closed, clients may
   * log in with their certificate (AMQP {@code EXTERNAL}, MQTT {@code ssl_cert_login}; the CN is the user name) or
   * with a password (PLAIN). A certificate a client presents is always verified against {@code caFile} (wrong CA,
   * expired: refused); {@code requireClientCert} also refuses clients without one. Edges serving password devices
   * run without it (those devices still verify the server); nodes used only by certificate holders run with it.
   *
   * <p>{@code adminUser}/{@code adminPassword} replace {@code guest} (which is never created in secure mode): the
   * broker creates this administrator at first boot. The password goes only into the node's 0600 config file.
   */
  public record Tls(Path caFile, Path certFile, Path keyFile, boolean requireClientCert, String adminUser,
                    io.iotpipe.core.config.Secret adminPassword) {
    @Override
    public String toString() {
      return "Tls[ca=" + caFile + " cert=" + certFile + " requireClientCert=" + requireClientCert + " admin=" + adminUser + "]";
    }
  }

  /**
   * The ports of a node: AMQP, management HTTP, Erlang distribution, MQTT (or -1), and rabbitmq_prometheus's
   * metrics listener (or -1 for a node recorded before it had one).
   */
  public record Ports(int amqp, int management, int distribution, int mqtt, int prometheus, int stream) {
    public Ports(int amqp, int management, int distribution, int mqtt, int prometheus) {
      this(amqp, management, distribution, mqtt, prometheus, -1);
    }

    public Ports(int amqp, int management, int distribution, int mqtt) {
      this(amqp, management, distribution, mqtt, -1);
    }
  }

  private static final String TLS_PLUGINS = ",rabbitmq_auth_mechanism_ssl";
  private static final String PLUGINS = "rabbitmq_management,rabbitmq_shovel,rabbitmq_shovel_management,rabbitmq_consistent_hash_exchange,rabbitmq_sharding"
      // queue depths, connections, alarms for Prometheus (demo --observability, chaos --observability)
      + ",rabbitmq_prometheus";
  private static final int START_TIMEOUT_S = 120;

  private final Spec spec;
  private final Ports ports;
  private final String nodeName;
  private final RabbitDistribution distribution;
  /** The network the node has a namespace of its own in, and its place there; both null: the host's, on 127.0.0.1. */
  private final NodeNetwork network;
  private final NodeNetwork.Member member;

  private LocalNode(Spec spec, Ports ports, RabbitDistribution distribution, NodeNetwork network, NodeNetwork.Member member) {
    this.spec = spec;
    this.ports = ports;
    this.network = network;
    this.member = member;
    // in a namespace: a long name on the node's own address, which every other node and the CLI resolve without DNS
    this.nodeName = spec.name() + "@" + (member == null ? "localhost" : member.ip());
    this.distribution = distribution;
  }

  /** Prepares a node with fresh free ports (not started yet), of the selected distribution. */
  public static LocalNode create(Spec spec) {
    return create(spec, RabbitDistribution.selected());
  }

  /** Prepares a node with fresh free ports (not started yet) of {@code distribution}. */
  public static LocalNode create(Spec spec, RabbitDistribution distribution) {
    return create(spec, distribution, null, null);
  }

  /**
   * As {@link #create(Spec, RabbitDistribution)}, the node in {@code member}'s network namespace of {@code network}
   * (when non-null): it listens on the member's address, runs its own epmd there and uses long node names.
   */
  public static LocalNode create(Spec spec, RabbitDistribution distribution, NodeNetwork network, NodeNetwork.Member member) {
    return new LocalNode(spec, new Ports(freePort(), freePort(), freePort(), spec.mqtt() ? freePort() : -1, freePort(),
        spec.streams() ? freePort() : -1), distribution, network, member);
  }

  /** Re-attaches to a node described by a state file (for {@code iotpipe broker stop} in another process). */
  public static LocalNode attach(Spec spec, Ports ports) {
    return attach(spec, ports, RabbitDistribution.of(RabbitDistribution.HOST));
  }

  /** As {@link #attach(Spec, Ports)} for a node of {@code distribution}. */
  public static LocalNode attach(Spec spec, Ports ports, RabbitDistribution distribution) {
    return new LocalNode(spec, ports, distribution, null, null);
  }

  /** Which RabbitMQ this node runs. */
  public RabbitDistribution distribution() {
    return distribution;
  }

  /** Creates and starts a node; returns once it accepts connections with all plugins running. */
  public static LocalNode start(Spec spec) {
    LocalNode n = create(spec);
    n.start();
    return n;
  }

  static int freePort() {
    return io.iotpipe.core.net.LocalPorts.free();
  }

  public Spec spec() {
    return spec;
  }

  public Ports ports() {
    return ports;
  }

  public String nodeName() {
    return nodeName;
  }

  /** The address the node listens on: 127.0.0.1, or its own in a {@link NodeNetwork}. */
  public String host() {
    return member == null ? "127.0.0.1" : member.ip();
  }

  /** {@code amqp://host:port}, or in secure mode {@code amqps://host:port} (the TLS listener); host: {@link #host()}. */
  public URI amqpUri() {
    return URI.create((secure() ? "amqps" : "amqp") + "://" + host() + ":" + ports.amqp());
  }

  /** The management API: {@code http://}, or {@code https://} in secure mode. */
  public URI managementUri() {
    return URI.create((secure() ? "https" : "http") + "://" + host() + ":" + ports.management());
  }

  public boolean secure() {
    return spec.tls() != null;
  }

  public int mqttPort() {
    return ports.mqtt();
  }

  /** The stream protocol port, or -1 for a node started without streams. */
  public int streamPort() {
    return ports.stream();
  }

  /**
   * rabbitmq_prometheus's listener as a scrape target ({@code 127.0.0.1:port}; https in secure mode), or null for a
   * node without one. Per-queue depths come from {@code /metrics/detailed?family=queue_coarse_metrics}.
   */
  public String prometheusTarget() {
    return ports.prometheus() > 0 ? host() + ":" + ports.prometheus() : null;
  }

  private Path pidFile() {
    return spec.dir().resolve("node.pid");
  }

  private Path logFile() {
    return spec.dir().resolve("log").resolve(nodeName + ".log");
  }

  /** Starts (or restarts) the node and waits until it is ready. */
  public synchronized void start() {
    distribution.ensureInstalled();
    distribution.ensureCookie();
    if (isRunning()) {
      return;
    }
    try {
      writeConfig();
      Files.deleteIfExists(pidFile());
      List<String> cmd = distribution.command(binds(), "rabbitmq-server", "-detached");
      if (member != null) {
        network.ensureEpmd(member);
        cmd = network.inside(member, cmd);
      } else {
        distribution.ensureHostEpmd();
      }
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().putAll(environment());
      pb.environment().putAll(distribution.environment());
      pb.redirectErrorStream(true).redirectOutput(spec.dir().resolve("start.out").toFile());
      Process p = pb.start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      throw new BrokerException("cannot start RabbitMQ node " + nodeName + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while starting " + nodeName);
    }
    CtlResult r = ctl(START_TIMEOUT_S + 10, "wait", "--timeout", String.valueOf(START_TIMEOUT_S), pidFile().toString());
    if (r.exit() != 0) {
      String log = tail(logFile(), 15);
      kill();
      String hint = log.contains("eaddrinuse") ? " A port is in use by another process: retry (iotpipe picks new free ports on each new node)." : "";
      throw new BrokerException("RabbitMQ node " + nodeName + " did not start within " + START_TIMEOUT_S + " s." + hint
          + "\n  rabbitmqctl said: " + r.output().strip() + "\n  last lines of " + logFile() + ":\n" + log);
    }
  }

  private void writeConfig() throws IOException {
    Files.createDirectories(spec.dir().resolve("log"));
    Files.createDirectories(spec.dir().resolve("mnesia"));
    List<String> conf = new ArrayList<>(List.of(
        // Dev nodes on a shared machine: do not block publishers because the disk "only" has 50 MB free.
        "disk_free_limit.absolute = 50MB",
        "log.file.level = info",
        "log.console = false"));
    if (secure()) {
      conf.addAll(secureConfig(spec.tls()));
    } else {
      conf.addAll(List.of(
          "listeners.tcp.default = " + ports.amqp(),
          "management.tcp.port = " + ports.management(),
          "management.tcp.ip = " + host(),
          "loopback_users = none"));
      if (ports.prometheus() > 0) {
        // its fixed default (15692) would collide between nodes on one machine
        conf.add("prometheus.tcp.port = " + ports.prometheus());
        conf.add("prometheus.tcp.ip = " + host());
      }
      if (spec.mqtt()) {
        conf.add("mqtt.listeners.tcp.default = " + ports.mqtt());
        conf.add("mqtt.allow_anonymous = false");
      }
      if (spec.streams()) {
        // its fixed default (5552) would collide between nodes; clients reach every member at the advertised
        // address, which would otherwise be the machine's host name
        conf.add("stream.listeners.tcp.default = " + host() + ":" + ports.stream());
        conf.add("stream.advertised_host = " + host());
        conf.add("stream.advertised_port = " + ports.stream());
      }
    }
    Path confFile = spec.dir().resolve("rabbitmq.conf");
    if (secure()) {
      // It holds the first-boot administrator password: owner-only before any byte is written.
      Files.deleteIfExists(confFile);
      Files.createFile(confFile, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    }
    if (member != null) {
      // A node in a NodeNetwork is there to be cut off from its cluster. pause_minority: the side without a majority
      // stops serving (closes its listeners) instead of accepting clients it cannot serve, and rejoins by itself when
      // the partition heals; RabbitMQ's default (ignore) leaves the metadata partitioned until an operator restarts
      // one side. Quorum queues and streams are Raft-based and need a majority either way.
      conf.add("cluster_partition_handling = pause_minority");
      // new quorum queues' leaders spread over the nodes (the default puts them all on the node that declares them,
      // where iotpipe's topology goes through one management URI): a cut then hits leaders and followers alike
      conf.add("queue_leader_locator = balanced");
    }
    Files.writeString(confFile, String.join("\n", conf) + "\n");
    // In a NodeNetwork: Erlang's net_ticktime at 15 s (default 60), so a cut of a minute is always seen as a partition
    // (nodes declare a silent peer down after 11-19 s instead of 45-75 s, which a 60 s cut may or may not reach).
    Files.writeString(spec.dir().resolve("advanced.config"), member != null ? "[{kernel, [{net_ticktime, 15}]}].\n" : "[].\n");
    Files.writeString(spec.dir().resolve("rabbitmq-env.conf"), "");
    Files.writeString(spec.dir().resolve("enabled_plugins"), "[" + PLUGINS + (secure() ? TLS_PLUGINS : "")
        + (spec.mqtt() ? ",rabbitmq_mqtt" : "") + (spec.streams() ? ",rabbitmq_stream" : "") + "].\n");
  }

  /** rabbitmq.conf lines of secure mode (see {@link Tls}). */
  private List<String> secureConfig(Tls t) {
    String ca = t.caFile().toAbsolutePath().toString();
    String cert = t.certFile().toAbsolutePath().toString();
    String key = t.keyFile().toAbsolutePath().toString();
    List<String> c = new ArrayList<>(List.of(
        "listeners.tcp = none",
        "listeners.ssl.default = " + host() + ":" + ports.amqp(),
        "ssl_options.cacertfile = " + ca,
        "ssl_options.certfile = " + cert,
        "ssl_options.keyfile = " + key,
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = " + t.requireClientCert(),
        "ssl_options.versions.1 = tlsv1.3",
        "ssl_options.versions.2 = tlsv1.2",
        "auth_mechanisms.1 = EXTERNAL",
        "auth_mechanisms.2 = PLAIN",
        "ssl_cert_login_from = common_name",
        "management.ssl.port = " + ports.management(),
        "management.ssl.ip = " + host(),
        "management.ssl.cacertfile = " + ca,
        "management.ssl.certfile = " + cert,
        "management.ssl.keyfile = " + key,
        // HTTP basic auth over TLS; browsers and curl carry no client certificate.
        "management.ssl.verify = verify_none",
        "management.ssl.fail_if_no_peer_cert = false"));
    if (ports.prometheus() > 0) {
      if (distribution.prometheusTcpDefaultsOn()) {
        // since 3.11 the plaintext listener starts on its fixed port (15692) next to the TLS one unless switched off
        c.add("prometheus.tcp.listener = none");
      }
      // TLS like every other listener of a secure node; metrics carry no secrets, so no client certificate is asked
      c.addAll(List.of(
          "prometheus.ssl.port = " + ports.prometheus(),
          "prometheus.ssl.ip = " + host(),
          "prometheus.ssl.cacertfile = " + ca,
          "prometheus.ssl.certfile = " + cert,
          "prometheus.ssl.keyfile = " + key,
          "prometheus.ssl.verify = verify_none",
          "prometheus.ssl.fail_if_no_peer_cert = false"));
    }
    if (t.adminPassword() != null && t.adminPassword().isSet()) {
      c.addAll(List.of(
          "default_user = " + t.adminUser(),
          "default_pass = " + t.adminPassword().reveal(),
          "default_user_tags.administrator = true",
          "default_permissions.configure = .*",
          "default_permissions.read = .*",
          "default_permissions.write = .*"));
    }
    if (spec.streams()) {
      // The stream protocol over TLS only, with the node's ssl_options (CA, certificate, client certificates); clients
      // reach every member at the advertised address, which would otherwise be the machine's host name.
      c.addAll(List.of(
          "stream.listeners.tcp = none",
          "stream.listeners.ssl.default = " + host() + ":" + ports.stream(),
          "stream.advertised_host = " + host(),
          "stream.advertised_tls_port = " + ports.stream()));
    }
    if (spec.mqtt()) {
      c.addAll(List.of(
          "mqtt.listeners.tcp = none",
          "mqtt.listeners.ssl.default = " + ports.mqtt(),
          "mqtt.ssl_cert_login = true",
          "mqtt.allow_anonymous = false"));
    }
    return c;
  }

  private Map<String, String> environment() {
    Path d = spec.dir().toAbsolutePath();
    Map<String, String> env = new java.util.HashMap<>();
    if (!secure()) {
      // In secure mode these would open a plaintext listener next to the TLS one: listeners come from the config only.
      env.put("RABBITMQ_NODE_IP_ADDRESS", host());
      env.put("RABBITMQ_NODE_PORT", String.valueOf(ports.amqp()));
    }
    if (member != null) {
      env.put("RABBITMQ_USE_LONGNAME", "true");
    }
    env.putAll(Map.ofEntries(
        Map.entry("RABBITMQ_NODENAME", nodeName),
        Map.entry("RABBITMQ_DIST_PORT", String.valueOf(ports.distribution())),
        Map.entry("RABBITMQ_BASE", d.toString()),
        Map.entry("RABBITMQ_MNESIA_BASE", d.resolve("mnesia").toString()),
        Map.entry("RABBITMQ_LOG_BASE", d.resolve("log").toString()),
        Map.entry("RABBITMQ_PID_FILE", d.resolve("node.pid").toString()),
        Map.entry("RABBITMQ_CONFIG_FILE", d.resolve("rabbitmq.conf").toString()),
        Map.entry("RABBITMQ_ADVANCED_CONFIG_FILE", d.resolve("advanced.config").toString()),
        Map.entry("RABBITMQ_CONF_ENV_FILE", d.resolve("rabbitmq-env.conf").toString()),
        Map.entry("RABBITMQ_ENABLED_PLUGINS_FILE", d.resolve("enabled_plugins").toString())));
    return env;
  }

  /**
   * Host directories a node run from a root must see at the same paths: its own directory, and where its TLS files
   * are.
   */
  private List<Path> binds() {
    List<Path> b = new ArrayList<>();
    b.add(spec.dir().toAbsolutePath());
    if (spec.tls() != null) {
      for (Path f : List.of(spec.tls().caFile(), spec.tls().certFile(), spec.tls().keyFile())) {
        b.add(f.toAbsolutePath().getParent());
      }
    }
    return b;
  }

  /** The OS pid of the node's Erlang VM, or -1 when not running. */
  public long pid() {
    try {
      long pid = Long.parseLong(Files.readString(pidFile()).trim());
      return ProcessHandle.of(pid).map(h -> h.isAlive() ? pid : -1L).orElse(-1L);
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  public boolean isRunning() {
    return pid() > 0;
  }

  /** Stops the node cleanly (as an operator would), waiting until its process is gone. */
  public synchronized void stop() {
    long pid = pid();
    if (pid <= 0) {
      return;
    }
    CtlResult r = ctl(90, "stop", pidFile().toString());
    if (r.exit() != 0 || pid() > 0) {
      kill();
    }
  }

  /** Kills the node's VM with SIGKILL (a crash, for fault tests); returns once the process is gone. */
  public synchronized void kill() {
    long pid = pid();
    if (pid <= 0) {
      return;
    }
    ProcessHandle.of(pid).ifPresent(h -> {
      h.destroyForcibly();
      h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(t -> null).join();
    });
  }

  /**
   * Makes the node write its metadata store's pending transactions (Mnesia's log) to disk now. Mnesia writes its log
   * with a delay, so a durable queue declared a moment before a {@code kill -9} can be gone after the restart (seen
   * twice on CI: the consumer then met {@code NOT_FOUND - no queue}). Tests that crash a node to prove what the
   * clients do call this first; RabbitMQ's own durability is not what they test. A node whose metadata store is
   * Khepri (Raft, the default of new 4.2+ nodes) commits it durably already: nothing to flush there.
   */
  public void flushMetadata() {
    ctlOrFail("eval", "case catch rabbit_khepri:is_enabled() of true -> ok; _ -> mnesia:dump_log() end.");
  }

  /** Result of a {@code rabbitmqctl} call. */
  public record CtlResult(int exit, String output) {}

  /** Runs {@code rabbitmqctl -n <node> args...} (exact counts: {@code list_queues} is not subject to stats lag). */
  public CtlResult ctl(String... args) {
    return ctl(60, args);
  }

  CtlResult ctl(int timeoutSeconds, String... args) {
    List<String> a = new ArrayList<>(List.of("-q", "-n", nodeName));
    if (member != null) {
      a.add("--longnames");
    }
    a.addAll(List.of(args));
    List<String> cmd = distribution.command(binds(), "rabbitmqctl", a.toArray(String[]::new));
    if (member != null) {
      // from inside the node's namespace: a node cut off from the others still answers what it sees
      cmd = network.inside(member, cmd);
    }
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().putAll(distribution.environment());
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new CtlResult(-1, "rabbitmqctl timed out after " + timeoutSeconds + " s");
      }
      return new CtlResult(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return new CtlResult(-1, "cannot run rabbitmqctl: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new CtlResult(-1, "interrupted");
    }
  }

  /** Like {@link #ctl(String...)} but fails with the tool's output when it fails. */
  public String ctlOrFail(String... args) {
    CtlResult r = ctl(args);
    if (r.exit() != 0) {
      throw new BrokerException("rabbitmqctl " + String.join(" ", args) + " on " + nodeName + " failed: " + r.output().strip());
    }
    return r.output();
  }

  /** Messages per queue, exact (from {@code rabbitmqctl list_queues}): ready + unacknowledged. */
  public Map<String, Long> queueDepths() {
    // In a NodeNetwork, list_queues has every node send its queues' rows straight to the CLI's Erlang node, named after
    // the machine's host name, which resolves to each namespace's own loopback: the rows never come. eval gathers them
    // on the node asked (quorum queues answer from their leader) and prints the same two columns.
    String out = member == null ? ctlOrFail("list_queues", "--no-table-headers", "name", "messages")
        : ctlOrFail("eval", "lists:foreach(fun(Q) -> [{messages, M}] = rabbit_amqqueue:info(Q, [messages]),"
            + " io:format(\"~s ~p~n\", [element(4, amqqueue:get_name(Q)), M]) end, rabbit_amqqueue:list(<<\"/\">>)).");
    Map<String, Long> m = new java.util.TreeMap<>();
    for (String line : out.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length == 2 && f[1].matches("\\d+")) {
        m.put(f[0], Long.parseLong(f[1]));
      }
    }
    return m;
  }

  private static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + file + ")";
    }
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public String toString() {
    return nodeName + (distribution.chrooted() ? " (RabbitMQ " + distribution.id() + ")" : "") + (secure() ? " (TLS)" : "") + " amqp=" + ports.amqp() + " management=" + ports.management()
        + (ports.mqtt() > 0 ? " mqtt=" + ports.mqtt() : "") + (ports.stream() > 0 ? " stream=" + ports.stream() : "") + (ports.prometheus() > 0 ? " prometheus=" + ports.prometheus() : "")
        + " dir=" + spec.dir();
  }
}
