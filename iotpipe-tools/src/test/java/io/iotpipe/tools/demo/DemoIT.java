package io.iotpipe.tools.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.cli.Main;
import io.iotpipe.testkit.SecretScan;
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
 * {@code iotpipe demo --observability} as a new user runs it, in one run (a demo costs a minute of the suite): secured
 * by default, complete (the lake's Iceberg table on the local S3 API server included), no secret in anything it wrote;
 * a real Prometheus scraped the roles and both brokers' rabbitmq_prometheus (every target up, queue depths per
 * partition queue), every SLI at 100 %, no alert fired, and nothing the demo started is left running.
 */
class DemoIT {

  @Test
  void theDefaultDemoIsSecuredCompleteObservedAndLeaksNoSecret(@TempDir Path dir) throws Exception {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      exit = Main.run("demo", "--devices", "20", "--rate", "100", "--duration", "10s", "--profile", "flat", "--observability",
          "--json", "--dir", dir.toString());
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    String json = out.toString(StandardCharsets.UTF_8);
    String log = err.toString(StandardCharsets.UTF_8);
    stdout.println(json);
    JsonNode r = new ObjectMapper().readTree(json);
    assertThat(exit).as(log).isZero();
    assertThat(r.path("lost").asLong()).isZero();
    assertThat(r.path("duplicates").asLong()).isZero();
    assertThat(r.path("confirmed").asLong()).isPositive();
    // The lake: every confirmed reading in the Iceberg table, read back through the catalog, once.
    assertThat(r.path("inLake").asLong()).as("rows of the lake's table").isEqualTo(r.path("confirmed").asLong());
    JsonNode lake = r.path("lakeTable");
    assertThat(lake.path("table").asText()).isEqualTo("iotpipe.telemetry");
    assertThat(lake.path("warehouse").asText()).startsWith("s3://iotpipe-lake/");
    assertThat(lake.path("rows").asLong()).as("total-records of the current snapshot").isEqualTo(r.path("confirmed").asLong());
    assertThat(lake.path("metadataFile").asText()).startsWith("s3://iotpipe-lake/").endsWith(".metadata.json");
    JsonNode sec = r.path("security");
    assertThat(sec.path("mode").asText()).isEqualTo("secure");
    assertThat(sec.path("tls").asBoolean()).isTrue();
    assertThat(sec.path("guestPresent").asBoolean()).as("guest asked of both nodes").isFalse();
    assertThat(sec.path("deviceCredential").asText()).isEqualTo("certificate");
    assertThat(sec.path("devicesEnrolled").asLong()).isEqualTo(20);
    assertThat(sec.path("accountsUsed").toString()).contains("iotpipe-admin", "iotpipe-shovel", "iotpipe-elk", "iotpipe-storage", "iotpipe-lake");
    assertThat(Files.readString(Path.of(r.path("reportFile").asText()))).contains("SECURE: TLS only");

    Path pki = dir.resolve("brokers/pki");
    List<String> secrets = new ArrayList<>(SecretScan.secretsUnder(pki));
    // and the S3 server's secret key (its 0600 files are where it lives by design, like the PKI's)
    Path s3 = dir.resolve("s3");
    secrets.add(Files.readString(s3.resolve("secret-key")));
    // 4 service accounts' passwords, the CA's, server's, accounts' and 20 devices' keys.
    assertThat(secrets).hasSizeGreaterThan(25);
    // Kept apart by design: the PKI directory (the secrets themselves), each node's 0600 rabbitmq.conf (the first-boot
    // administrator password) and its database (the shovel's URI is a stored parameter, like any credential store).
    List<String> leaks = SecretScan.findings(dir, secrets, p -> p.startsWith(pki) || p.startsWith(s3.resolve("secret-key"))
        || p.startsWith(s3.resolve("s3proxy.properties")) || p.toString().contains("/mnesia/")
        || p.getFileName().toString().equals("rabbitmq.conf"));
    assertThat(leaks).isEmpty();
    assertThat(SecretScan.count(json, secrets)).as("stdout").isZero();
    assertThat(SecretScan.count(log, secrets)).as("stderr").isZero();
    // What was scanned: broker logs, the report, the ledger, the generated configs.
    try (var files = Files.walk(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).anyMatch(n -> n.endsWith(".log")).contains("report.html", "ledger.json",
          "iotpipe.yaml", "iotpipe.elk.yaml", "iotpipe.lake.yaml", "catalog.db");
    }

    List<String> jobs = new ArrayList<>();
    for (JsonNode t : r.path("prometheusTargets")) {
      assertThat(t.path("up").asBoolean()).as("target %s", t).isTrue();
      jobs.add(t.path("job").asText());
    }
    // the roles' endpoint, the edge node and the cloud node
    assertThat(jobs).containsExactlyInAnyOrder("iotpipe", "rabbitmq", "rabbitmq");

    // three SLOs for each sink: elk, storage and the lake
    assertThat(r.path("slo")).hasSize(9);
    for (JsonNode slo : r.path("slo")) {
      assertThat(slo.path("sli").asDouble()).as("SLI %s", slo).isEqualTo(1.0);
      assertThat(slo.path("budgetLeft").asDouble()).as("budget %s", slo).isEqualTo(1.0);
    }
    assertThat(r.path("alerts")).as("alerts").isEmpty();

    // rabbitmq_prometheus's per-queue series, under the names the dashboard queries
    List<String> queues = new ArrayList<>();
    r.path("brokerQueuePeakDepths").fieldNames().forEachRemaining(queues::add);
    for (String sink : List.of("elk", "storage", "lake")) {
      for (int p = 0; p < 4; p++) {
        assertThat(queues).contains("iotpipe." + sink + ".p" + p);
      }
    }
    assertThat(Files.readString(Path.of(r.path("reportFile").asText()))).contains("Prometheus targets", "rabbitmq_prometheus");

    // nothing left running: no process works in the demo's directory (OpenSearch and Prometheus name it on their
    // command line; a RabbitMQ node only in its environment, RABBITMQ_BASE)
    String where = dir.toAbsolutePath().toString();
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
