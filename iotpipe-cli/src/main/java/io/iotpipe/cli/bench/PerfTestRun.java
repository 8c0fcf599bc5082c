package io.iotpipe.cli.bench;

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

  record Result(PerfTestOutput output, double brokerCpuSeconds) {}

  /**
   * @param uri        the cloud node (no credentials in it: local nodes use the loopback guest)
   * @param brokerPid  the node's OS process, for its CPU during the run
   */
  static Result run(URI uri, int messageBytes, int seconds, String queue, long brokerPid, Path log) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), MAIN_CLASS, "--uri", uri.toString(), "--queue", queue,
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
