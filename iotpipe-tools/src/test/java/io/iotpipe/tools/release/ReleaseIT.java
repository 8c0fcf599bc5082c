package io.iotpipe.tools.release;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.LocalStack;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release as an operator uses it: the tarball unpacked into an empty directory, {@code bin/iotpipe run --role index}
 * and {@code --role store} started from there as separate processes with only a JDK (no Maven, git or other Java on
 * the PATH, no source tree, no CLASSPATH), against real RabbitMQ nodes and a real OpenSearch; every published reading
 * must be indexed and stored exactly once, and the processes must have loaded jars from the release's lib/ only.
 * Lives here rather than in iotpipe-dist because it needs the test kit: as a dependency of iotpipe-dist, even
 * test-scoped, the embedded OpenSearch would take part in Maven's version mediation and could change the jars that go
 * into lib/.
 */
class ReleaseIT {

  @TempDir
  static Path dir;
  static LocalStack stack;
  static Path home;

  @BeforeAll
  static void start() throws Exception {
    // Unpacking (gunzip of the tarball) overlaps the servers' start.
    CompletableFuture<Path> unpacked = CompletableFuture.supplyAsync(() -> {
      try {
        return unpack(Files.createDirectory(dir.resolve("install")));
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException("unpacking " + tarball() + " failed", e);
      }
    });
    stack = LocalStack.start(dir.resolve("stack"), 1, 2, "  rollAge: 2s", true, System.err::println);
    home = unpacked.join();
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  /** The tarball iotpipe-dist built in this reactor (this module depends on iotpipe-dist for the build order). */
  static Path tarball() {
    Path p = Path.of(System.getProperty("iotpipe.release", ""));
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException("no release tarball at " + p + ": build it in the same reactor "
          + "(./mvnw -pl iotpipe-tools -am verify -Dit.test=ReleaseIT ...) or first with ./mvnw -pl iotpipe-dist -am package");
    }
    return p;
  }

  static Path unpack(Path into) throws IOException, InterruptedException {
    Process tar = new ProcessBuilder("tar", "xzf", tarball().toString()).directory(into.toFile()).inheritIO().start();
    assertThat(tar.waitFor(60, TimeUnit.SECONDS) && tar.exitValue() == 0).as("tar xzf %s", tarball()).isTrue();
    try (Stream<Path> s = Files.list(into)) {
      List<Path> roots = s.toList();
      assertThat(roots).as("the tarball holds one directory").hasSize(1);
      return roots.get(0);
    }
  }

  /**
   * {@code bin/iotpipe run --role ROLE} from the unpacked release, in an empty working directory of its own, with the
   * environment of a machine that has only a JDK.
   */
  static Process role(String role, Path config) throws IOException {
    Path cwd = Files.createDirectories(dir.resolve("cwd-" + role));
    ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/iotpipe").toString(), "run", "--role", role,
        "--config", config.toString(), "--instance-id", role + "-release", "--port", "0")
        .directory(cwd.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(role + ".log").toFile()));
    pb.environment().clear();
    pb.environment().putAll(Map.of("PATH", toolsOnly().toString(), "JAVA_HOME", System.getProperty("java.home"), "LANG", "C.UTF-8"));
    return pb.start();
  }

  /**
   * A PATH with only the shell tools bin/iotpipe uses: this machine's /usr/bin also holds mvn, git and a java, which
   * an operator's server need not have, so a launcher that reached for them would pass here and fail there.
   */
  static synchronized Path toolsOnly() throws IOException {
    Path bin = dir.resolve("path");
    if (!Files.isDirectory(bin)) {
      Files.createDirectory(bin);
      for (String tool : List.of("bash", "dirname", "readlink", "awk", "cut", "ls", "cksum", "find", "mkdir")) {
        Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool)).filter(Files::isExecutable).findFirst()
            .orElseThrow(() -> new IllegalStateException(tool + " is not installed in /usr/bin or /bin"));
        Files.createSymbolicLink(bin.resolve(tool), real);
      }
    }
    return bin;
  }

  /** The jar files the process has open (the JVM keeps every class-path jar it loaded a class from open). */
  static Set<String> openJars(Process p) throws IOException {
    Set<String> jars = new TreeSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(p.pid()), "fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.endsWith(".jar")) {
            jars.add(target);
          }
        } catch (IOException closedMeanwhile) {
          // a descriptor closed between listing and reading: not a jar the process holds
        }
      }
    }
    return jars;
  }

  @Test
  void indexAndStoreRolesRunFromTheUnpackedTarballAndEveryPublishedReadingLandsOnce() throws Exception {
    String prefix = "r" + UUID.randomUUID().toString().substring(0, 8);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 2s", prefix + ".yaml");
    Path config = stack.dir().resolve(prefix + ".yaml");
    Map<String, Process> roles = new LinkedHashMap<>();
    try (Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(10, 100, Duration.ofSeconds(5), 0)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      roles.put("index", role("index", config));
      roles.put("store", role("store", config));
      for (Map.Entry<String, Process> e : roles.entrySet()) {
        Process p = e.getValue();
        // bin/iotpipe execs the JVM: the same process, once it is java, runs the release's lib/* and nothing else.
        await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive()
            || p.info().command().orElse("").equals(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        assertThat(p.isAlive()).as("the %s role is running; log:%n%s", e.getKey(), log(e.getKey())).isTrue();
        List<String> args = List.of(p.info().arguments().orElseThrow());
        assertThat(args.get(args.indexOf("-cp") + 1)).isEqualTo(home.resolve("lib") + "/*");
      }
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isPositive().isEqualTo(r.published());
      assertThat(r.unconfirmed()).as("readings published but not confirmed (no faults here)").isZero();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() ->
          Auditor.search(cfg.indexer(), sim.ledger()).lost() == 0 && Auditor.store(cfg.storage().dir(), sim.ledger()).lost() == 0);
      for (Map.Entry<String, Process> e : roles.entrySet()) {
        Set<String> jars = openJars(e.getValue());
        assertThat(jars).as("jars the %s role has open", e.getKey()).isNotEmpty()
            .allSatisfy(j -> assertThat(j).startsWith(home.resolve("lib") + "/"));
      }
      // SIGTERM, as systemd stops a unit: the roles flush and ack, then the JVM exits with its status for a SIGTERM
      // stop, 143 (128 + 15), which the unit counts as clean (SuccessExitStatus=143).
      for (Map.Entry<String, Process> e : roles.entrySet()) {
        e.getValue().destroy();
        assertThat(e.getValue().waitFor(60, TimeUnit.SECONDS)).as("the %s role stops within 60 s of SIGTERM", e.getKey()).isTrue();
        assertThat(e.getValue().exitValue()).as("exit code of the %s role after SIGTERM; log:%n%s", e.getKey(), log(e.getKey())).isEqualTo(143);
        assertThat(log(e.getKey())).as("log of the %s role", e.getKey()).contains("iotpipe run: stopped cleanly");
      }
      // Audited after the stop too: nothing the shutdown flushed or acked was written twice.
      Completeness.Result es = Auditor.search(cfg.indexer(), sim.ledger());
      Completeness.Result st = Auditor.store(cfg.storage().dir(), sim.ledger());
      assertThat(es.expected()).isEqualTo(r.confirmed());
      assertThat(es.lost()).as("lost in search: %s", es.examples()).isZero();
      assertThat(es.duplicates()).as("duplicates in search").isZero();
      assertThat(st.expected()).isEqualTo(r.confirmed());
      assertThat(st.lost()).as("lost in store: %s", st.examples()).isZero();
      assertThat(st.duplicates()).as("duplicates in store").isZero();
      System.err.printf("ReleaseIT: %d readings published and confirmed; %d indexed, %d stored, by roles run from %s%n",
          r.confirmed(), es.present(), st.present(), home);
    } finally {
      for (Process p : roles.values()) {
        p.destroyForcibly();
      }
    }
  }

  static String log(String role) throws IOException {
    return Files.readString(dir.resolve(role + ".log"), StandardCharsets.UTF_8);
  }
}
