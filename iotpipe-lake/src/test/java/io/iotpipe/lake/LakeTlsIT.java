package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.s3proxy.EmbeddedS3Proxy;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An object store that speaks only HTTPS with a certificate from a private CA (as on-premises MinIO or Ceph RGW do):
 * with {@code lake.s3.caFile} the lake commits and reads over TLS; without it the failure names the setting.
 */
class LakeTlsIT {

  @TempDir
  Path dir;

  @Test
  void theLakeCommitsOverHttpsTrustingOnlyItsCaFileAndWithoutItNamesTheSetting() throws Exception {
    String password = UUID.randomUUID().toString();
    Path keyStore = dir.resolve("s3.p12");
    Path ca = dir.resolve("ca.pem");
    keytool("-genkeypair", "-alias", "s3", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", keyStore.toString(), "-storetype", "PKCS12",
        "-storepass", password, "-keypass", password);
    keytool("-exportcert", "-rfc", "-alias", "s3", "-keystore", keyStore.toString(), "-storepass", password,
        "-file", ca.toString());

    try (EmbeddedS3Proxy s3 = EmbeddedS3Proxy.startTls(dir.resolve("s3"), keyStore, password)) {
      assertThat(s3.endpoint().getScheme()).isEqualTo("https");
      String bucket = "lake-" + UUID.randomUUID().toString().substring(0, 8);
      s3.createBucket(bucket);
      LakeCatalog trusted = new LakeCatalog("jdbc:sqlite:" + dir.resolve("catalog.db"), null, null,
          "s3://" + bucket + "/warehouse", s3.endpoint().toString(), true, "us-east-1", s3.accessKey(), s3.secretKey(),
          ca.toString());
      TableIdentifier id = TableIdentifier.of(Namespace.of("telemetry"), "tls");
      Catalog catalog = trusted.open();
      ((SupportsNamespaces) catalog).createNamespace(id.namespace());
      Table table = new TelemetryTable(LakeFixture.METRICS).createOrLoad(catalog, id);
      LakeSink sink = new LakeSink("lake", table, 100_000, 64L << 20);
      sink.open("storage.p0");
      List<SinkRecord> readings = LakeFixture.readings("storage.p0", "tls-", 4, 25);
      var outcomes = sink.write(readings);
      sink.flush();
      assertThat(outcomes.toCompletableFuture().get(60, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
      assertThat(rows(table)).isEqualTo(readings.size());
      // The objects are on the HTTPS server: its file-system backend holds the data files.
      try (var files = Files.walk(s3.blobs().resolve(bucket))) {
        assertThat(files.filter(f -> f.toString().endsWith(".parquet")).count()).isPositive();
      }

      // The same table without the CA file: the JDK's CAs do not vouch for the server, and the first request says so
      // (not after Iceberg's 20 retries of a metadata read).
      LakeCatalog untrusted = new LakeCatalog(trusted.catalogUri(), null, null, trusted.warehouse(),
          trusted.s3Endpoint(), true, "us-east-1", s3.accessKey(), s3.secretKey());
      assertThatThrownBy(untrusted::open)
          .hasMessageContaining("cannot reach the lake's object store")
          .hasMessageContaining("TLS certificate is not trusted")
          .hasMessageContaining("set lake.s3.caFile")
          .hasMessageNotContaining(s3.secretKey());

      // A wrong secret key: refused at once too, naming the settings, never printing the key.
      LakeCatalog wrongKey = new LakeCatalog(trusted.catalogUri(), null, null, trusted.warehouse(),
          trusted.s3Endpoint(), true, "us-east-1", s3.accessKey(), "not-" + s3.secretKey(), ca.toString());
      assertThatThrownBy(wrongKey::open)
          .hasMessageContaining("refused the credentials")
          .hasMessageContaining("lake.s3.secretKey")
          .hasMessageNotContaining(s3.secretKey());
    }
  }

  private static long rows(Table table) throws Exception {
    table.refresh();
    long n = 0;
    try (CloseableIterable<Record> rs = IcebergGenerics.read(table).build()) {
      for (Record ignored : rs) {
        n++;
      }
    }
    return n;
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("keytool: %s", out).isZero();
  }
}
