package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: exit codes and messages. */
class CliTest {

  record Result(int exit, String out, String err) {}

  static synchronized Result run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      var cli = Main.commandLine();
      cli.setOut(new java.io.PrintWriter(System.out, true));
      cli.setErr(new java.io.PrintWriter(System.err, true));
      int code = cli.execute(args);
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void everyCommandHasHelp() {
    Result r = run("--help");
    assertThat(r.exit()).isZero();
    for (String cmd : new String[] {"config", "run", "index", "store", "dlq", "topology", "audit", "query", "export", "storage",
        "logstash-config", "reindex", "pki", "device", "plan", "slo", "failover", "forward"}) {
      assertThat(r.out()).contains(cmd);
      assertThat(run(cmd, "--help").exit()).as(cmd + " --help").isZero();
    }
  }

  @Test
  void theProductHasNoToolingCommands() {
    // demo, chaos, bench, broker and simulate come with iotpipe-tools: a release without it must not offer them.
    for (String tool : new String[] {"demo", "chaos", "bench", "broker", "simulate"}) {
      Result r = run(tool);
      assertThat(r.exit()).as(tool + " is not a product command").isNotZero();
      assertThat(r.err()).contains(tool);
    }
  }

  @Test
  void configCheckListsEveryErrorWithItsPathAndExits2(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, """
        brokers:
          cloud: {uris: [amqp://h:5672], pasword: x}
        topology: {balancer: nowhere, partitions: -1}
        storage: {formats: [parquet, orc]}
        """);
    Result r = run("config", "check", f.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("has 4 errors")
        .contains("brokers.cloud.pasword: unknown key")
        .contains("topology.balancer: must name a broker under brokers:, was \"nowhere\"")
        .contains("topology.partitions: must be between 1 and 1024, was -1")
        .contains("storage.formats[1]: \"orc\" is not one of [parquet, feather, hdf5, jsonl]");
  }

  @Test
  void configCheckAcceptsTheExample() {
    Result r = run("config", "check", "../iotpipe.example.yaml", "--json");
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("\"valid\" : true");
  }

  @Test
  void aMissingConfigFileNamesTheFix() {
    Result r = run("run", "--config", "/nonexistent/iotpipe.yaml");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("does not exist").contains("--config FILE");
  }
}
