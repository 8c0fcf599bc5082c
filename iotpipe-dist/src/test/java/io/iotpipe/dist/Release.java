package io.iotpipe.dist;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The release tarball this build made, unpacked the way an operator does it: {@code tar xzf} into an empty directory. */
final class Release {

  private Release() {
  }

  /** The tarball: the build passes its path (see iotpipe-dist/pom.xml). */
  static Path tarball() {
    String p = System.getProperty("iotpipe.release");
    if (p == null || !Files.isRegularFile(Path.of(p))) {
      throw new IllegalStateException("no release tarball at " + p + ": run these tests through Maven "
          + "(./mvnw -pl iotpipe-dist -am package), which builds it first");
    }
    return Path.of(p);
  }

  /** Unpacks the tarball into {@code into} (empty) and returns the release's root, {@code into/iotpipe-VERSION}. */
  static Path unpack(Path into) throws IOException, InterruptedException {
    Result r = run(into, Map.of(), Duration.ofSeconds(60), "tar", "xzf", tarball().toString());
    if (r.exit() != 0) {
      throw new IllegalStateException("tar xzf failed: " + r.output());
    }
    try (var s = Files.list(into)) {
      List<Path> roots = s.toList();
      if (roots.size() != 1) {
        throw new IllegalStateException("the tarball must hold one directory, holds " + roots);
      }
      return roots.get(0);
    }
  }

  /**
   * The environment of a machine with only a JDK: no Maven, no source tree, no CLASSPATH; JAVA_HOME is this test's
   * JDK (the launcher's first choice after the release's own runtime).
   */
  static Map<String, String> jdkOnlyEnvironment() {
    return Map.of("PATH", "/usr/bin:/bin", "JAVA_HOME", System.getProperty("java.home"), "LANG", "C.UTF-8");
  }

  record Result(int exit, String output) {
  }

  /** Runs a command in {@code dir} with exactly {@code env} and returns its exit code and output (stdout + stderr). */
  static Result run(Path dir, Map<String, String> env, Duration timeout, String... cmd) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(cmd))).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    Path out = Files.createTempFile("iotpipe-release", ".out");
    try {
      Process p = pb.redirectOutput(out.toFile()).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor();
        throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + timeout + ": "
            + Files.readString(out, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
