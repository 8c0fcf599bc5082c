package io.iotpipe.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What an operator gets from the tarball alone: the product, nothing of the tooling, and a working launcher. */
class ReleaseTarballTest {

  @TempDir
  static Path unpacked;
  static Path home;

  @BeforeAll
  static void unpack() throws Exception {
    home = Release.unpack(unpacked);
  }

  static Set<String> lib() throws IOException {
    try (var s = Files.list(home.resolve("lib"))) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  @Test
  void libHoldsNoTestBenchmarkOrEmbeddedEngineJar() throws IOException {
    Pattern forbidden = Pattern.compile(
        "(?i).*(opensearch|lucene|perf-test|junit|opentest4j|assertj|awaitility|jqwik|testkit|iotpipe-tools|embedded).*");
    assertThat(lib()).isNotEmpty().noneMatch(j -> forbidden.matcher(j).matches());
    assertThat(lib()).allMatch(j -> j.endsWith(".jar"));
  }

  @Test
  void libHoldsTheSameArtifactsAsTheProductsClassPath() throws IOException {
    // iotpipe-cli/target/lib is what the dev launcher runs the roles with: the release ships the same artifacts.
    // Versions are not compared: Maven's nearest-wins also counts iotpipe-cli's test-scoped embedded OpenSearch, which
    // drags two versions into that directory (jts-core, netty-codec-compression) that the product's own dependencies
    // do not ask for; the release resolves the product alone, and ReleaseIT runs the roles on exactly these jars.
    Path cliLib = Path.of("..", "iotpipe-cli", "target", "lib");
    assumeTrue(Files.isDirectory(cliLib), "iotpipe-cli/target/lib is built in the same reactor; run from the project root");
    Set<String> expected;
    try (var s = Files.list(cliLib)) {
      expected = s.map(p -> artifact(p.getFileName().toString())).collect(Collectors.toCollection(TreeSet::new));
    }
    expected.add("iotpipe-cli");
    Set<String> shipped = lib().stream().map(ReleaseTarballTest::artifact).collect(Collectors.toCollection(TreeSet::new));
    assertThat(shipped).isEqualTo(expected);
  }

  /** {@code netty-codec-http-4.2.9.Final.jar} -> {@code netty-codec-http}. */
  static String artifact(String jar) {
    return jar.replaceFirst("-\\d[^-]*(-[A-Za-z0-9]+)*\\.jar$", "").replaceFirst("\\.jar$", "");
  }

  @Test
  void theReleaseHasItsLauncherConfigUnitsAndLicences() throws IOException {
    Path launcher = home.resolve("bin/iotpipe");
    assertThat(Files.getPosixFilePermissions(launcher)).contains(PosixFilePermission.OWNER_EXECUTE,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE);
    assertThat(home.resolve("conf/iotpipe.example.yaml")).isRegularFile();
    assertThat(home.resolve("systemd/iotpipe@.service")).isRegularFile();
    String thirdParty = Files.readString(home.resolve("THIRD-PARTY.txt"));
    assertThat(thirdParty).contains("amqp-client").contains("picocli").containsIgnoringCase("Apache");
    // Every third-party jar shipped, at the version shipped (":artifact:version "), and none of ours.
    for (String jar : lib()) {
      if (!jar.startsWith("iotpipe-")) {
        String coordinates = ":" + artifact(jar) + ":" + jar.substring(artifact(jar).length() + 1, jar.length() - ".jar".length()) + " ";
        assertThat(thirdParty).as("THIRD-PARTY.txt lists %s", jar).contains(coordinates);
      }
    }
    assertThat(thirdParty).doesNotContain("io.iotpipe:");
  }

  @Test
  void versionFromAnEmptyDirectoryNamesTheVersionAndTheCommit() throws Exception {
    Path cwd = Files.createDirectory(unpacked.resolve("empty-cwd"));
    Release.Result r = Release.run(cwd, Release.jdkOnlyEnvironment(), Duration.ofSeconds(60),
        home.resolve("bin/iotpipe").toString(), "--version");
    assertThat(r.exit()).as(r.output()).isZero();
    String version = home.getFileName().toString().substring("iotpipe-".length());
    assertThat(r.output()).startsWith("iotpipe " + version + "\n");
    String head = gitHead();
    if (head != null) {
      assertThat(r.output()).contains("commit " + head + "\n");
    } else {
      assertThat(r.output()).contains("commit unknown");
    }
  }

  @Test
  void theProductsCommandsRunFromTheTarballAndTheToolingsDoNot() throws Exception {
    Path cwd = Files.createDirectories(unpacked.resolve("cwd-config"));
    Release.Result check = Release.run(cwd, Release.jdkOnlyEnvironment(), Duration.ofSeconds(60),
        home.resolve("bin/iotpipe").toString(), "config", "check", home.resolve("conf/iotpipe.example.yaml").toString());
    assertThat(check.exit()).as(check.output()).isZero();
    Release.Result demo = Release.run(cwd, Release.jdkOnlyEnvironment(), Duration.ofSeconds(60),
        home.resolve("bin/iotpipe").toString(), "demo");
    assertThat(demo.exit()).as("the demo is tooling, not in a release: %s", demo.output()).isNotZero();
    assertThat(demo.output()).contains("Unmatched argument");
  }

  @Test
  void theLauncherRefusesAJavaOlderThan21WithTheFix() throws Exception {
    Path java17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");
    assumeTrue(Files.isExecutable(java17), "no Java 17 on this machine to try the launcher's version check with");
    Release.Result r = Release.run(unpacked, Map.of("PATH", "/usr/bin:/bin", "IOTPIPE_JAVA", java17.toString()),
        Duration.ofSeconds(60), home.resolve("bin/iotpipe").toString(), "--version");
    assertThat(r.exit()).isNotZero();
    assertThat(r.output()).contains("is not a Java >= 21");
  }

  /** HEAD of the checkout this build runs in, or null outside git (then the release must say "commit unknown"). */
  static String gitHead() throws Exception {
    try {
      Release.Result r = Release.run(Path.of("").toAbsolutePath(), Map.of("PATH", "/usr/bin:/bin"), Duration.ofSeconds(30),
          "git", "rev-parse", "HEAD");
      return r.exit() == 0 ? r.output().strip() : null;
    } catch (IOException e) {
      return null; // no git binary
    }
  }

  @Test
  void theSystemdUnitPassesSystemdAnalyzeVerify() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")),
        "systemd-analyze is not installed (Debian package systemd): the unit cannot be verified here");
    // A root that looks like an installed host: the release in /opt/iotpipe, the unit in /etc/systemd/system and the
    // system's own units (the targets the unit depends on). verify checks ExecStart's binary exists there.
    Path root = unpacked.resolve("host");
    Path opt = Files.createDirectories(root.resolve("opt"));
    Path installed = Release.unpack(opt);
    Files.createSymbolicLink(opt.resolve("iotpipe"), installed.getFileName()); // relative, as the README installs it
    Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
    Files.copy(installed.resolve("systemd/iotpipe@.service"), units.resolve("iotpipe@.service"));
    Path systemUnits = Files.createDirectories(root.resolve("usr/lib/systemd"));
    Release.Result cp = Release.run(root, Map.of("PATH", "/usr/bin:/bin"), Duration.ofSeconds(30),
        "cp", "-r", "/lib/systemd/system", systemUnits.toString());
    assertThat(cp.exit()).as(cp.output()).isZero();
    for (String role : List.of("index", "store")) {
      Release.Result r = Release.run(root, Map.of("PATH", "/usr/bin:/bin"), Duration.ofSeconds(60),
          "systemd-analyze", "verify", "--root=" + root, "iotpipe@" + role + ".service");
      // verify exits 0 on settings it ignores (a misspelt value): any output is a finding.
      assertThat(r.output()).as("systemd-analyze verify iotpipe@%s.service", role).isEmpty();
      assertThat(r.exit()).isZero();
    }
  }
}
