package io.iotpipe.cli.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `tenant` and `device enroll --tenant` say before they touch any server (the engine: search-compat.sh tenants). */
class TenantCommandTest {

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
      return new Result(cli.execute(args), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static Path config(Path dir, String extra) throws Exception {
    Path f = dir.resolve("iotpipe.yaml");
    Files.writeString(f, """
        brokers:
          edge: {uris: [amqp://127.0.0.1:1], management: http://127.0.0.1:1}
          cloud: {uris: [amqp://127.0.0.1:2]}
        topology: {edges: [edge], balancer: cloud}
        indexer: {urls: [http://127.0.0.1:1]}
        """ + extra);
    return f;
  }

  @Test
  void anInvalidTenantIdIsAUsageErrorThatStatesTheRule(@TempDir Path dir) throws Exception {
    Result r = run("tenant", "add", "Acme.Corp", "--config", config(dir, "").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("\"Acme.Corp\" is not a valid tenant id: use 1-32 characters from a-z 0-9 and '-'");
    Result e = run("device", "enroll", "evc-1", "--tenant", "a.b", "--config", config(dir, "").toString(), "--pki", dir.resolve("pki").toString());
    assertThat(e.exit()).isEqualTo(2);
    assertThat(e.err()).contains("--tenant \"a.b\" is not a valid tenant id");
  }

  @Test
  void anAdminUserWithoutItsPasswordInTheEnvironmentNamesTheVariable(@TempDir Path dir) throws Exception {
    Result r = run("tenant", "list", "--admin-user", "elastic", "--config", config(dir, "").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("export IOTPIPE_SEARCH_ADMIN_PASSWORD");
  }

  @Test
  void anUnreachableEngineFailsNamingWhatWasTried(@TempDir Path dir) throws Exception {
    Result r = run("tenant", "add", "acme", "--config", config(dir, "").toString(), "--credentials-dir", dir.resolve("creds").toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).containsIgnoringCase("127.0.0.1:1");
    assertThat(dir.resolve("creds/telemetry-tenant-acme.password")).as("no password left behind for a user never created").doesNotExist();
    assertThat(dir.resolve("creds/telemetry-tenant-acme.password.new")).doesNotExist();
  }
}
