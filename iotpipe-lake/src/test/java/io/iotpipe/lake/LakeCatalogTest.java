package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog's settings end up in logs and reports (the demo's summary, errors): never its password or keys. */
class LakeCatalogTest {

  @Test
  void itsTextNamesWhereTheTableIsButNoSecret() {
    LakeCatalog c = new LakeCatalog("jdbc:postgresql://db/lake", "iotpipe", "pg-password-1", "s3://bucket/wh",
        "https://s3.example", true, "eu-west-1", "AKIAEXAMPLE", "secret-key-1");
    assertThat(c.toString()).contains("jdbc:postgresql://db/lake", "s3://bucket/wh", "https://s3.example")
        .doesNotContain("pg-password-1", "secret-key-1", "AKIAEXAMPLE");
  }

  @Test
  void aRestCatalogGetsTheUserAndPasswordAsOAuth2ClientCredentialsOrAPasswordAloneAsABearerToken() {
    LakeCatalog client = new LakeCatalog("https://catalog.example/api", "client-id-1", "client-secret-1", "s3://bucket/wh",
        null, false, "eu-west-1", null, null);
    assertThat(client.properties()).containsEntry("credential", "client-id-1:client-secret-1").containsEntry("rest.auth.type", "oauth2").doesNotContainKeys("token", "jdbc.user", "jdbc.password");
    assertThat(client.toString()).doesNotContain("client-secret-1");
    LakeCatalog bearer = new LakeCatalog("https://catalog.example/api", null, "pat-1", "s3://bucket/wh", null, false, "eu-west-1", null, null);
    assertThat(bearer.properties()).containsEntry("token", "pat-1").doesNotContainKeys("credential", "jdbc.password");

    assertThatThrownBy(() -> IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud, sinks: [lake]}
        lake:
          catalog: {uri: "https://catalog.example/api", username: client-id-1}
        """, k -> null)).isInstanceOf(ConfigException.class).hasMessageContaining("lake.catalog.username")
        .hasMessageContaining("only together with catalog.password");
  }

  @Test
  void aCaFileIsAcceptedOnlyReadableAndWithAnHttpsEndpoint(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    LakeSection.Settings ok = lake(dir, "https://s3.internal:9000", ca.toString()).section(LakeSection.SECTION);
    assertThat(ok.catalog().s3CaFile()).isEqualTo(ca.toAbsolutePath().toString());
    assertThat(ok.catalog().properties()).containsEntry(PrivateCaS3Clients.CA_FILE, ca.toAbsolutePath().toString())
        .containsEntry("s3.client-factory-impl", PrivateCaS3Clients.class.getName());

    assertThatThrownBy(() -> lake(dir, "http://s3.internal:9000", ca.toString())).isInstanceOf(ConfigException.class)
        .hasMessageContaining("lake.s3.caFile").hasMessageContaining("only with an https:// s3.endpoint");
    assertThatThrownBy(() -> lake(dir, "https://s3.internal:9000", dir.resolve("absent.pem").toString()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("lake.s3.caFile").hasMessageContaining("readable PEM file");
  }

  private static IotpipeConfig lake(Path dir, String endpoint, String caFile) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud, sinks: [lake]}
        lake:
          catalog: {uri: "jdbc:sqlite:%s"}
          warehouse: s3://lake/warehouse
          s3: {endpoint: "%s", caFile: "%s"}
        """.formatted(dir.resolve("c.db"), endpoint, caFile), k -> null);
  }

  @Test
  void aFailureWithoutAMessageIsStillExplainedAndAnInterruptedRequestSaysTheRoleIsStopping() {
    assertThat(LakeCatalog.explain(software.amazon.awssdk.core.exception.AbortedException.builder().build()))
        .isEqualTo("interrupted (the role is stopping): nothing to fix, the next start carries on");
    assertThat(LakeCatalog.explain(new RuntimeException(null, new java.io.IOException("connection reset"))))
        .isEqualTo("connection reset");
    assertThat(LakeCatalog.explain(new IllegalStateException())).isEqualTo("java.lang.IllegalStateException");
  }
}
