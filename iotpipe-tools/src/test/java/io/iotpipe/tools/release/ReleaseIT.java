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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release as an operator uses it: the tarball unpacked into an empty directory, {@code bin/iotpipe run --role index}
 * and {@code --role store} started from there as separate processes with only a JDK (no Maven, no source tree, no
 * CLASSPATH), against real RabbitMQ nodes and a real OpenSearch; every confirmed reading must be indexed and stored
 * exactly once. Lives here rather than in iotpipe-dist because it needs the test kit, whose embedded OpenSearch must
 * not take part in the release's dependency resolution.
 */
class ReleaseIT {

  @TempDir
  static Path dir;
  static LocalStack stack;
  static Path home;

  @BeforeAll
  static void start() throws Exception {
    home = unpack(Files.createDirectory(dir.resolve("install")));
    stack = LocalStack.start(dir.resolve("stack"), 1, 2, "  rollAge: 2s", true, System.err::println);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  /** The tarball iotpipe-dist built in this reactor (iotpipe-tools depends on iotpipe-dist for the order). */
  static Path tarball() {
    Path p = Path.of(System.getProperty("iotpipe.release", ""));
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException("no release tarball at " + p + ": build it first (./mvnw -pl iotpipe-dist -am package)");
    }
    return p;
  }

  static Path unpack(Path into) throws IOException, InterruptedException {
    Process tar = new ProcessBuilder("tar", "xzf", tarball().toString()).directory(into.toFile()).inheritIO().start();
    assertThat(tar.waitFor(60, TimeUnit.SECONDS) && tar.exitValue() == 0).as("tar xzf %s", tarball()).isTrue();
    try (var s = Files.list(into)) {
      return s.findFirst().orElseThrow();
    }
  }

  /** {@code bin/iotpipe run --role ROLE} from the unpacked release, in an empty working directory of its own. */
  static Process role(String role, Path config) throws IOException {
    Path cwd = Files.createDirectories(dir.resolve("cwd-" + role));
    ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/iotpipe").toString(), "run", "--role", role,
        "--config", config.toString(), "--instance-id", role + "-release", "--port", "0")
        .directory(cwd.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(role + ".log").toFile()));
    pb.environment().clear();
    pb.environment().putAll(Map.of("PATH", "/usr/bin:/bin", "JAVA_HOME", System.getProperty("java.home"), "LANG", "C.UTF-8"));
    return pb.start();
  }

  @Test
  void indexAndStoreRolesRunFromTheUnpackedTarballAndEveryConfirmedReadingLandsOnce() throws Exception {
    String prefix = "r" + UUID.randomUUID().toString().substring(0, 8);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 2s", prefix + ".yaml");
    Path config = stack.dir().resolve(prefix + ".yaml");
    List<Process> roles = new ArrayList<>();
    try (Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(20, 100, Duration.ofSeconds(10), 0)
        .withProfile(SimulatorConfig.Profile.FLAT, SimulatorConfig.Protocol.AMQP))) {
      Process index = role("index", config);
      Process store = role("store", config);
      roles.addAll(List.of(index, store));
      // The class path of the role processes is the release's lib/ and nothing else.
      for (Process p : roles) {
        await().atMost(Duration.ofSeconds(30)).until(() -> p.info().arguments().isPresent());
        List<String> args = List.of(p.info().arguments().orElseThrow());
        assertThat(args.get(args.indexOf("-cp") + 1)).isEqualTo(home.resolve("lib") + "/*");
      }
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isPositive();
      assertThat(r.unconfirmed()).isZero();
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() ->
          Auditor.search(cfg.indexer(), sim.ledger()).lost() == 0 && Auditor.store(cfg.storage().dir(), sim.ledger()).lost() == 0);
      Completeness.Result es = Auditor.search(cfg.indexer(), sim.ledger());
      Completeness.Result st = Auditor.store(cfg.storage().dir(), sim.ledger());
      assertThat(es.expected()).isEqualTo(sim.ledger().confirmed());
      assertThat(es.lost()).as("lost in search: %s", es.examples()).isZero();
      assertThat(es.duplicates()).as("duplicates in search").isZero();
      assertThat(st.lost()).as("lost in store: %s", st.examples()).isZero();
      assertThat(st.duplicates()).as("duplicates in store").isZero();
      // SIGTERM, as systemd stops a unit: the roles flush, ack and exit 0.
      for (Process p : roles) {
        p.destroy();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("a role stops within 60 s of SIGTERM").isTrue();
        assertThat(p.exitValue()).as("exit code of a role after SIGTERM; log:%n%s", log(p == index ? "index" : "store")).isZero();
      }
    } finally {
      for (Process p : roles) {
        p.destroyForcibly();
      }
    }
  }

  static String log(String role) throws IOException {
    return Files.readString(dir.resolve(role + ".log"), StandardCharsets.UTF_8);
  }
}
