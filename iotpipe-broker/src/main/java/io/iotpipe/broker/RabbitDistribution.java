package io.iotpipe.broker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which RabbitMQ the local nodes run: RabbitMQ 4.0 from a Debian trixie root the project makes for itself
 * ({@code scripts/rabbitmq4-root.sh}; trixie's Erlang 27 needs a newer libc than bookworm's, so it cannot be installed
 * into the host) — the default, as operators run 4.x — or the host's {@code rabbitmq-server} package (Debian bookworm:
 * 3.10), kept for the compatibility run; or RabbitMQ 4.3 from a Debian forky root, the same way.
 *
 * <p>Chosen by one setting: system property {@code iotpipe.rabbitmq}, else environment {@code IOTPIPE_RABBITMQ}
 * ({@code 4.0} — the default —, {@code 4.3} or {@code 3.10}). The root is {@code IOTPIPE_RABBITMQ4_ROOT}, else
 * {@code ~/.cache/iotpipe/rabbitmq-VERSION}.
 *
 * <p>A node of a root runs as {@code chroot ROOT rabbitmq-server} inside a private mount namespace ({@code unshare --mount})
 * that bind-mounts the node's directory (and the directories of its TLS files) at the same path inside the root and
 * mounts {@code /proc} there. The mounts belong to the namespace, so they vanish with the last process in it — the
 * node's VM — whether it stops cleanly or is killed: nothing is left mounted, and there is nothing to unmount by hand.
 * {@code rabbitmqctl} runs the same way (the CLI must match the server's version). epmd is started from the host
 * first when the host has one: an epmd started by the first node inside the root would keep its namespace alive.
 */
public final class RabbitDistribution {

  /** The setting's values. */
  public static final String HOST = "3.10";
  public static final String TRIXIE = "4.0";
  /** Debian testing's (forky) current RabbitMQ: the single-active-consumer fixes of 4.1–4.3 that streams need. */
  public static final String FORKY = "4.3";

  private static final String STAMP = ".iotpipe-root-ready";

  private final String id;
  /** null for the host's installation. */
  private final Path root;

  private RabbitDistribution(String id, Path root) {
    this.id = id;
    this.root = root;
  }

  /** The distribution chosen by {@code iotpipe.rabbitmq} / {@code IOTPIPE_RABBITMQ} (default: 4.0). */
  public static RabbitDistribution selected() {
    String v = System.getProperty("iotpipe.rabbitmq");
    if (v == null || v.isBlank()) {
      v = System.getenv("IOTPIPE_RABBITMQ");
    }
    return of(v);
  }

  /** {@code 4.0} (or {@code 4}, empty, null) or {@code 3.10} (or {@code 3}, {@code host}); anything else is refused. */
  public static RabbitDistribution of(String v) {
    String s = v == null ? "" : v.strip().toLowerCase(Locale.ROOT);
    return switch (s) {
      case "3.10", "3", "host" -> new RabbitDistribution(HOST, null);
      case "", "4.0", "4" -> new RabbitDistribution(TRIXIE, defaultRoot(TRIXIE));
      case "4.3" -> new RabbitDistribution(FORKY, defaultRoot(FORKY));
      default -> throw new BrokerException("unknown RabbitMQ distribution '" + v + "' (IOTPIPE_RABBITMQ / --rabbitmq): "
          + "use 4.0 (the default: Debian trixie's), 4.3 (Debian forky's; both from scripts/rabbitmq4-root.sh) or 3.10 "
          + "(the host's rabbitmq-server)");
    };
  }

  /** The selected distribution if it runs from a root (one that has single active consumers on streams), else 4.0. */
  public static RabbitDistribution withStreams() {
    RabbitDistribution d = selected();
    return d.chrooted() ? d : of(TRIXIE);
  }

  static Path defaultRoot(String id) {
    String r = System.getProperty("iotpipe.rabbitmq4.root");
    if (r == null || r.isBlank()) {
      r = System.getenv("IOTPIPE_RABBITMQ4_ROOT");
    }
    if (r != null && !r.isBlank()) {
      return Path.of(r).toAbsolutePath();
    }
    String cache = System.getenv("XDG_CACHE_HOME");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("iotpipe").resolve("rabbitmq-" + id).toAbsolutePath();
  }

  /** {@code 3.10} or {@code 4.0}, as recorded in a deployment's state file. */
  public String id() {
    return id;
  }

  public boolean chrooted() {
    return root != null;
  }

  /**
   * Whether rabbitmq_prometheus opens its plaintext listener even when only its TLS one is configured, and knows
   * {@code prometheus.tcp.listener = none} to prevent it (3.11 and later; 3.10 refuses that key).
   */
  public boolean prometheusTcpDefaultsOn() {
    return root != null;
  }

  /** The trixie root, or null for the host's installation. */
  public Path root() {
    return root;
  }

  /**
   * Makes sure the server can run: the host's package (installed with apt when allowed, see
   * {@link RabbitInstallation#ensureInstalled()}), or a finished trixie root — which we do not make from Java: the
   * launcher runs the script, and anything else is told how.
   */
  public void ensureInstalled() {
    if (root == null) {
      RabbitInstallation.ensureInstalled();
      return;
    }
    if (!Files.isRegularFile(root.resolve(STAMP)) || !Files.isExecutable(inRoot(RabbitInstallation.BIN.resolve("rabbitmq-server")))) {
      throw new BrokerException("RabbitMQ " + id + " runs from a root at " + root + " that is not ready. "
          + "Make it once (as root, about 2 minutes): IOTPIPE_RABBITMQ=" + id + " scripts/rabbitmq4-root.sh " + root
          + " — ./iotpipe does this by itself; or set IOTPIPE_RABBITMQ=3.10 to use the host's rabbitmq-server.");
    }
  }

  /**
   * Our nodes and {@code rabbitmqctl} share the Erlang cookie {@code ~/.erlang.cookie}; inside the root, where
   * {@code HOME} is {@code /root}, a copy of it (so 3.10 and 4.0 nodes could even talk to each other).
   */
  void ensureCookie() {
    RabbitInstallation.ensureCookie();
    if (root == null) {
      return;
    }
    try {
      Path host = Path.of(System.getProperty("user.home"), ".erlang.cookie");
      Path inside = root.resolve("root/.erlang.cookie");
      String cookie = Files.readString(host);
      if (Files.exists(inside) && Files.readString(inside).equals(cookie)) {
        return;
      }
      Files.createDirectories(inside.getParent());
      Path tmp = Files.createTempFile(inside.getParent(), ".erlang.cookie", ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tmp, cookie);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r--------"));
      Files.move(tmp, inside, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new BrokerException("cannot copy the Erlang cookie into " + root + ": " + e.getMessage());
    }
  }

  /**
   * Starts the host's epmd before a node in the root needs one (idempotent): the first node would otherwise start
   * its own inside its mount namespace, and that epmd outlives the node and keeps the namespace (its mounts) alive.
   */
  void ensureHostEpmd() {
    if (root == null || !Files.isExecutable(Path.of("/usr/bin/epmd"))) {
      return;
    }
    try {
      new ProcessBuilder("/usr/bin/epmd", "-daemon").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    } catch (IOException e) {
      // the node starts its own then
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A path of the root as the host sees it. */
  private Path inRoot(Path p) {
    return root.resolve(p.toString().substring(1));
  }

  /**
   * The command line running {@code tool} (under the server's {@code bin} directory) with {@code args}: directly on
   * the host, or through unshare + chroot with {@code binds} (host directories) visible at the same paths.
   */
  List<String> command(Collection<Path> binds, String tool, String... args) {
    String exe = RabbitInstallation.BIN.resolve(tool).toString();
    List<String> cmd = new ArrayList<>();
    if (root == null) {
      cmd.add(exe);
      cmd.addAll(Arrays.asList(args));
      return cmd;
    }
    // sh -c SCRIPT sh ROOT BIND... -- TOOL ARGS...: binds and /proc are mounted in the new namespace only.
    String script = """
        r=$1; shift
        while [ "$1" != -- ]; do mkdir -p "$r$1" && mount --bind "$1" "$r$1" || exit 70; shift; done; shift
        mount -t proc proc "$r/proc" || exit 70
        exec chroot "$r" "$@"
        """;
    cmd.addAll(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", root.toString()));
    Set<String> unique = new LinkedHashSet<>();
    for (Path b : binds) {
      unique.add(b.toAbsolutePath().normalize().toString());
    }
    // parents first: a bind on a parent mounted later would cover one on its child
    cmd.addAll(unique.stream().sorted(java.util.Comparator.comparingInt(String::length)).toList());
    cmd.add("--");
    cmd.add(exe);
    cmd.addAll(Arrays.asList(args));
    return cmd;
  }

  /** Environment the tools need on top of the node's own: inside the root, its home (cookie), locale, plugins. */
  Map<String, String> environment() {
    if (root == null) {
      return Map.of();
    }
    return Map.of(
        "HOME", "/root",
        // the Elixir CLI warns and mangles non-ASCII without a UTF-8 locale; C.UTF-8 ships with libc
        "LC_ALL", "C.UTF-8",
        "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        // the root's scripts would otherwise look for plugins where the host's 3.10 keeps them
        "RABBITMQ_PLUGINS_DIR", pluginsDir());
  }

  private String pluginsDir() {
    Path lib = inRoot(Path.of("/usr/lib/rabbitmq/lib"));
    try (var dirs = Files.list(lib)) {
      Path server = dirs.filter(p -> p.getFileName().toString().startsWith("rabbitmq_server-")).sorted().reduce((a, b) -> b)
          .orElseThrow(() -> new BrokerException("no rabbitmq_server-* under " + lib + ": remake the root (scripts/rabbitmq4-root.sh)"));
      return "/usr/lib/rabbitmq/lib/" + server.getFileName() + "/plugins";
    } catch (IOException e) {
      throw new BrokerException("cannot read " + lib + ": " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return root == null ? "RabbitMQ " + HOST + " (host)" : "RabbitMQ " + TRIXIE + " (" + root + ")";
  }
}
