package io.iotpipe.lake;

import static org.awaitility.Awaitility.await;

import io.iotpipe.s3proxy.EmbeddedS3Proxy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Apache Iceberg's own REST catalog server ({@code org.apache.iceberg.rest.RESTCatalogServer}, from
 * {@code iceberg-open-api}'s test fixtures: the server Iceberg's REST spec tests run against) in a child JVM on this
 * test's class path. It keeps the tables' metadata pointers in a SQLite JDBC catalog of its own and writes each new
 * {@code metadata.json} to the S3 warehouse itself, as a REST catalog does; clients write data files and manifests.
 * Configured the way its image is, by {@code CATALOG_*} environment variables ({@code __} is {@code -}, {@code _} is
 * {@code .}).
 */
final class IcebergRestServer implements AutoCloseable {

  private final Process process;
  private final int port;
  final Path catalogDb;
  private final Path log;

  private IcebergRestServer(Process process, int port, Path catalogDb, Path log) {
    this.process = process;
    this.port = port;
    this.catalogDb = catalogDb;
    this.log = log;
  }

  /** Starts a server whose warehouse is {@code warehouse} on {@code s3}; returns once it answers {@code /v1/config}. */
  static IcebergRestServer start(Path dir, EmbeddedS3Proxy s3, String warehouse) {
    try {
      Files.createDirectories(dir);
      int port = io.iotpipe.core.net.LocalPorts.free();
      Path db = dir.resolve("rest-catalog.db");
      Path log = dir.resolve("rest-catalog.log");
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
          // It logs its whole configuration, S3 secret key included, at INFO on start.
          "-Dorg.slf4j.simpleLogger.log.org.apache.iceberg.rest.RESTCatalogServer=warn",
          "-cp", System.getProperty("java.class.path"), "org.apache.iceberg.rest.RESTCatalogServer");
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      Map<String, String> env = pb.environment();
      env.keySet().removeIf(k -> k.startsWith("CATALOG_"));
      env.put("CATALOG_REST_PORT", String.valueOf(port));
      // Its environment names cannot spell jdbc.journal_mode (an underscore becomes a dot): sqlite-jdbc takes the
      // pragmas in the URL. WAL and a busy timeout, so two writers' concurrent commits wait instead of SQLITE_BUSY.
      env.put("CATALOG_URI", "jdbc:sqlite:" + db + "?journal_mode=WAL&busy_timeout=30000");
      // As Polaris or Nessie do: no table in a namespace that was not created (a JDBC catalog is lenient by default).
      env.put("CATALOG_JDBC_STRICT__MODE", "true");
      env.put("CATALOG_WAREHOUSE", warehouse);
      env.put("CATALOG_IO__IMPL", "org.apache.iceberg.aws.s3.S3FileIO");
      env.put("CATALOG_S3_ENDPOINT", s3.endpoint().toString());
      env.put("CATALOG_S3_PATH__STYLE__ACCESS", "true");
      env.put("CATALOG_S3_ACCESS__KEY__ID", s3.accessKey());
      env.put("CATALOG_S3_SECRET__ACCESS__KEY", s3.secretKey());
      env.put("CATALOG_CLIENT_REGION", "us-east-1");
      IcebergRestServer server = new IcebergRestServer(pb.start(), port, db, log);
      try {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        await("Iceberg REST catalog server answering on port " + port).atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(200)).until(() -> {
              if (!server.process.isAlive()) {
                throw new IllegalStateException("the REST catalog server exited with code " + server.process.exitValue() + ":\n" + server.logTail());
              }
              return server.answers(http);
            });
      } catch (RuntimeException e) {
        server.close();
        throw e;
      }
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the Iceberg REST catalog server: " + e.getMessage(), e);
    }
  }

  /** The catalog URL a client is given. */
  String uri() {
    return "http://127.0.0.1:" + port;
  }

  private boolean answers(HttpClient http) {
    try {
      HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(uri() + "/v1/config")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.discarding());
      return r.statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log at " + log + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
