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

  @Test
  void deviceCheckFindsACertificateAndARegistryThatDisagree(@TempDir Path dir) throws Exception {
    Path registryFile = dir.resolve("tenants.tsv");
    Path cfg = config(dir, "tenants: {registry: \"" + registryFile + "\"}\n");
    io.iotpipe.security.Pki pki = io.iotpipe.security.Pki.init(dir.resolve("pki"), "test");
    pki.issueClient("evc-a-1", "acme");
    pki.issueClient("evc-b-1", "bolt");
    pki.issueClient("evc-none");
    var registry = new io.iotpipe.core.tenant.TenantRegistry(registryFile);
    registry.assign(java.util.List.of("evc-a-1"), "acme");
    registry.assign(java.util.List.of("evc-b-1"), "bolt");
    String pkiDir = dir.resolve("pki").toString();

    Result ok = run("device", "check", "--config", cfg.toString(), "--pki", pkiDir);
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.out()).contains("every device certificate", "2 device(s) in the registry");

    // the registry restored from another day's backup: evc-b-1 now maps to acme, evc-none to bolt
    registry.assign(java.util.List.of("evc-b-1", "evc-none"), "acme");
    Result bad = run("device", "check", "--config", cfg.toString(), "--pki", pkiDir);
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.out()).contains("! evc-b-1: certificate names tenant bolt, the registry tenant acme",
        "! evc-none: certificate names no tenant, the registry tenant acme").doesNotContain("evc-a-1");
    assertThat(bad.err()).contains("2 device(s) whose certificate and registry disagree", "iotpipe device enroll ID --tenant T");

    Result noRegistry = run("device", "check", "--config", config(Files.createDirectories(dir.resolve("x")), "").toString(), "--pki", pkiDir);
    assertThat(noRegistry.exit()).isEqualTo(2);
    assertThat(noRegistry.err()).contains("no tenants.registry in");
  }
}
