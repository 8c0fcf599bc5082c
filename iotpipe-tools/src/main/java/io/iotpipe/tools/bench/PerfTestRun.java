package io.iotpipe.tools.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * RabbitMQ's own PerfTest ({@code com.rabbitmq:perf-test}, on this classpath) in a child JVM: the broker's limit for one
 * persistent quorum queue with one publisher using confirms and one consumer acking, the baseline of {@code bench e2e}.
 * A child JVM keeps its CPU apart from the bench's and lets it exit on its own terms.
 */
final class PerfTestRun {

  static final String MAIN_CLASS = "com.rabbitmq.perf.PerfTest";

  /** The options besides the URI, queue and time: what the JSON reports so the run can be repeated. */
  static List<String> options(int messageBytes) {
    return List.of("--producers", "1", "--consumers", "1", "--size", String.valueOf(messageBytes), "--flag", "persistent",
        "--confirm", "1000", "--qos", "1000", "--multi-ack-every", "100", "--quorum-queue", "--auto-delete", "false");
  }

  /**
   * This JVM's classpath without slf4j-simple, plus PerfTest's logging backend (logback, which PerfTest configures
   * directly), copied by the build next to the CLI's libraries.
   */
  static String classpath() {
    String sep = java.io.File.pathSeparator;
    List<String> entries = new ArrayList<>();
    Path logback = null;
    for (String e : System.getProperty("java.class.path").split(sep)) {
      Path p = Path.of(e);
      if (p.getFileName() != null && p.getFileName().toString().startsWith("slf4j-simple")) {
        continue;
      }
      if (p.getFileName() != null && p.getFileName().toString().startsWith("perf-test-") && p.getParent() != null) {
        logback = p.getParent().resolveSibling("perftest-lib");
      }
      entries.add(e);
    }
    if (logback == null || !Files.isDirectory(logback)) {
      throw new IllegalStateException("PerfTest's logging libraries are missing (expected target/perftest-lib next to target/lib):"
          + " rebuild the tools (./mvnw -pl iotpipe-tools -am package, or let ./iotpipe build it)");
    }
    entries.add(0, logback.resolve("*").toString());
    return String.join(sep, entries);
  }

  record Result(PerfTestOutput output, double brokerCpuSeconds) {}

  /**
   * @param uri        the cloud node (no credentials in it: local nodes use the loopback guest)
   * @param brokerPid  the node's OS process, for its CPU during the run
   */
  static Result run(URI uri, int messageBytes, int seconds, String queue, long brokerPid, Path log) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classpath(), MAIN_CLASS, "--uri", uri.toString(), "--queue", queue,
        "--time", String.valueOf(seconds), "--id", "bench-" + queue));
    cmd.addAll(options(messageBytes));
    double b0 = CpuMeter.processSeconds(brokerPid);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(seconds + 90L, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("PerfTest did not finish within " + (seconds + 90) + " s; see " + log);
    }
    double broker = CpuMeter.processSeconds(brokerPid) - b0;
    return new Result(PerfTestOutput.parse(Files.readString(log)), broker);
  }
}
