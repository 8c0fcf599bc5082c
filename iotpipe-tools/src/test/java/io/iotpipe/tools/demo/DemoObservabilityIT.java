package io.iotpipe.tools.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./iotpipe demo --observability}, short, as a user sees it: a real Prometheus scraped the roles and both
 * brokers' rabbitmq_prometheus (every target up, queue depths per partition queue), every SLI at 100 % with nothing
 * lost, no alert fired, and nothing the demo started is left running.
 */
class DemoObservabilityIT {

  @Test
  void prometheusSeesRolesAndBrokersAndNoSloBurns(@TempDir Path dir) throws Exception {
    Path base = dir.resolve("demo");
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      exit = Main.run("demo", "--devices", "30", "--rate", "100", "--duration", "10s", "--profile", "flat", "--observability",
          "--json", "--dir", base.toString());
    } finally {
      System.setOut(stdout);
    }
    String json = captured.toString(StandardCharsets.UTF_8);
    stdout.println(json);
    JsonNode s = new ObjectMapper().readTree(json);
    assertThat(exit).isZero();
    assertThat(s.path("confirmed").asLong()).isPositive();
    assertThat(s.path("lost").asLong()).isZero();
    assertThat(s.path("duplicates").asLong()).isZero();

    List<String> jobs = new ArrayList<>();
    for (JsonNode t : s.path("prometheusTargets")) {
      assertThat(t.path("up").asBoolean()).as("target %s", t).isTrue();
      jobs.add(t.path("job").asText());
    }
    // the roles' endpoint, the edge node and the cloud node
    assertThat(jobs).containsExactlyInAnyOrder("iotpipe", "rabbitmq", "rabbitmq");

    // three SLOs for each sink: elk, storage and the lake
    assertThat(s.path("slo")).hasSize(9);
    for (JsonNode slo : s.path("slo")) {
      assertThat(slo.path("sli").asDouble()).as("SLI %s", slo).isEqualTo(1.0);
      assertThat(slo.path("budgetLeft").asDouble()).as("budget %s", slo).isEqualTo(1.0);
    }
    assertThat(s.path("alerts")).as("alerts").isEmpty();

    // rabbitmq_prometheus's per-queue series, under the names the dashboard queries
    List<String> queues = new ArrayList<>();
    s.path("brokerQueuePeakDepths").fieldNames().forEachRemaining(queues::add);
    for (String sink : List.of("elk", "storage", "lake")) {
      for (int p = 0; p < 4; p++) {
        assertThat(queues).contains("iotpipe." + sink + ".p" + p);
      }
    }
    assertThat(Files.readString(Path.of(s.path("reportFile").asText()))).contains("Prometheus targets", "rabbitmq_prometheus");

    // nothing left running: no process works in the demo's directory (OpenSearch and Prometheus name it on their
    // command line; a RabbitMQ node only in its environment, RABBITMQ_BASE)
    String where = base.toAbsolutePath().toString();
    List<String> left = ProcessHandle.allProcesses().filter(p -> inDir(p, where))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
    assertThat(left).as("processes left running").isEmpty();
  }

  private static boolean inDir(ProcessHandle p, String dir) {
    if (p.info().commandLine().map(c -> c.contains(dir)).orElse(false)) {
      return true;
    }
    try {
      return new String(Files.readAllBytes(Path.of("/proc", String.valueOf(p.pid()), "environ")), StandardCharsets.UTF_8).contains(dir);
    } catch (java.io.IOException | SecurityException e) {
      return false; // gone meanwhile, or not ours to read
    }
  }
}
