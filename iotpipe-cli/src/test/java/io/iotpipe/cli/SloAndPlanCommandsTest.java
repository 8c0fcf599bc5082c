package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.slo.prom.PrometheusBinaries;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `iotpipe slo ...` and `iotpipe plan` as a user runs them. */
class SloAndPlanCommandsTest {

  private static final String EXAMPLE = "../iotpipe.example.yaml";

  @Test
  void sloRulesFromTheExampleConfigPassPromtool(@TempDir Path dir) throws Exception {
    Path rules = dir.resolve("slo.rules.yml");
    CliTest.Result r = CliTest.run("slo", "rules", "--config", EXAMPLE, "--out", rules.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(Files.readString(rules)).contains("IotpipeErrorBudgetBurn", "iotpipe:slo_errors:ratio_rate1h", "le=\"90.0\"");
    Process p = new ProcessBuilder(PrometheusBinaries.promtool().toString(), "check", "rules", rules.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  @Test
  void sloDashboardIsJson() throws Exception {
    CliTest.Result r = CliTest.run("slo", "dashboard", "--config", EXAMPLE);
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode d = new ObjectMapper().readTree(r.out());
    assertThat(d.get("panels").size()).isGreaterThan(10);
  }

  @Test
  void sloReportSaysWhenPrometheusIsUnreachable() {
    CliTest.Result r = CliTest.run("slo", "report", "--config", EXAMPLE, "--prometheus", "http://127.0.0.1:1");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("cannot reach Prometheus at http://127.0.0.1:1");
  }

  @Test
  void planJsonGivesTheFigures() throws Exception {
    CliTest.Result r = CliTest.run("plan", "--devices", "100000", "--interval", "10s", "--payload", "250B", "--peak", "3x",
        "--regions", "eu:0.5,us:0.3,ap:0.2", "--retention", "90d", "--replicas", "1", "--ride-through", "2h", "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.at("/figures/cloud.peakMsgPerSec").asDouble()).isEqualTo(30_000);
    assertThat(j.at("/figures/region.eu.site.edgeBufferMessages").asDouble()).isEqualTo(21_600_000);
    assertThat(j.get("lines").get(0).get("constants").size()).isPositive();
    assertThat(j.at("/constants/indexerMsgPerSec/source").asText()).contains("bench index");
  }

  @Test
  void planRejectsSharesThatDoNotAddUp() {
    CliTest.Result r = CliTest.run("plan", "--devices", "10", "--regions", "eu:0.5,us:0.3");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--regions").contains("sum to 1");
  }

  @Test
  void planChecksTheProfileAgainstWhatBenchMeasured(@TempDir Path dir) throws Exception {
    double ref = io.iotpipe.capacity.CapacityProfile.reference().get("indexerMsgPerSec");
    Path near = dir.resolve("near.json");
    Files.writeString(near, "{\"schema\": \"iotpipe-bench-profile/1\", \"indexerMsgsPerSecPerInstance\": " + Math.round(ref * 1.1) + "}");
    CliTest.Result ok = CliTest.run("plan", "--check-profile", near.toString(), "--json");
    assertThat(ok.exit()).as(ok.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(ok.out());
    assertThat(j.at("/checks/0/constant").asText()).isEqualTo("indexerMsgPerSec");
    assertThat(j.at("/checks/0/ratio").asDouble()).isBetween(1.09, 1.11);
    assertThat(j.at("/withinBand").asBoolean()).isTrue();

    Path far = dir.resolve("far.json");
    Files.writeString(far, "{\"schema\": \"iotpipe-bench-profile/1\", \"indexerMsgsPerSecPerInstance\": " + Math.round(ref * 0.5) + "}");
    CliTest.Result off = CliTest.run("plan", "--check-profile", far.toString());
    assertThat(off.exit()).isEqualTo(1);
    assertThat(off.out()).contains("0.50", "NOT within ±25 %", "--profile " + far);
    // and the planner plans with the measured figure when asked to
    CliTest.Result plan = CliTest.run("plan", "--devices", "100000", "--profile", far.toString(), "--json");
    assertThat(plan.exit()).as(plan.err()).isZero();
    assertThat(new ObjectMapper().readTree(plan.out()).at("/constants/indexerMsgPerSec/value").asDouble()).isEqualTo(Math.round(ref * 0.5));
  }
}
