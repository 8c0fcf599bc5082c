package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `iotpipe topology export` as an operator runs it (no broker needed; the import itself is DefinitionsExportIT). */
class TopologyExportCliTest {

  private static final String EXAMPLE = "../iotpipe.example.yaml";
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void definitionsGoToStdoutAndWhatTheyLeaveOutToStderr() throws Exception {
    CliTest.Result r = CliTest.run("topology", "export", "--format", "definitions", "--tier", "edge", "--config", EXAMPLE);
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode d = JSON.readTree(r.out());
    assertThat(d.path("queues").get(0).path("arguments").path("x-overflow").asText()).isEqualTo("reject-publish");
    assertThat(d.path("parameters").get(0).path("value").path("dest-uri").get(0).asText()).startsWith("amqp://guest@");
    assertThat(r.out()).doesNotContain("guest:guest");
    assertThat(r.err()).contains("no secrets in this file").contains("rabbitmqctl import_definitions FILE on edge")
        .contains("secret not included: shovel iotpipe.edge-to-cloud");
  }

  @Test
  void outWritesTheFileAndJsonSummarisesIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("sub/cloud.json");
    CliTest.Result r = CliTest.run("topology", "export", "--tier", "cloud", "--out", file.toString(), "--json", "--config", EXAMPLE);
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode s = JSON.readTree(r.out());
    assertThat(s.path("brokers").get(0).asText()).isEqualTo("cloud");
    // 4 partitions x 2 sinks, and a dead-letter queue per sink.
    assertThat(s.path("counts").path("queues").asInt()).isEqualTo(10);
    assertThat(s.path("next").get(0).asText()).isEqualTo("rabbitmqctl import_definitions " + file + " on cloud");
    assertThat(JSON.readTree(file.toFile()).path("exchanges").size()).isEqualTo(s.path("counts").path("exchanges").asInt());
  }

  @Test
  void aChoiceItCannotMakeIsAUsageErrorNamingTheFix() {
    CliTest.Result both = CliTest.run("topology", "export", "--config", EXAMPLE);
    assertThat(both.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(both.err()).contains("need different definitions").contains("--tier edge|cloud or --broker NAME");
    CliTest.Result unknown = CliTest.run("topology", "export", "--broker", "moon", "--config", EXAMPLE);
    assertThat(unknown.exit()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err()).contains("choose one of [edge, cloud]");
    assertThat(CliTest.run("topology", "export", "--tier", "cloud", "--json", "--config", EXAMPLE).err()).contains("add --out FILE");
    assertThat(CliTest.run("topology", "export", "--tier", "cloud", "--format", "terraform", "--config", EXAMPLE).exit())
        .isEqualTo(ExitCode.USAGE);
  }
}
