package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation, failover and auth against a local stub HTTP server (no engine needed). */
class EsClientTest {

  HttpServer server;
  final List<String> auth = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      auth.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
      byte[] body = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  URI live() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  static URI dead() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return URI.create("http://127.0.0.1:" + s.getLocalPort()); // nothing listens once closed
    }
  }

  @Test
  void aRefusingUrlIsSkippedAndItsRequestsGoToTheOthers() throws Exception {
    try (EsClient c = new EsClient(List.of(dead(), live()), null, null, Duration.ofSeconds(5))) {
      for (int i = 0; i < 6; i++) {
        assertThat(c.sendSync("GET", "/", null).status()).isEqualTo(200);
      }
    }
    assertThat(auth).hasSize(6).containsOnly("null");
  }

  @Test
  void allUrlsDownIsAnUnavailableErrorThatNamesTheCause() throws Exception {
    try (EsClient c = new EsClient(List.of(dead(), dead()), null, null, Duration.ofSeconds(5))) {
      assertThatThrownBy(() -> c.sendSync("GET", "/", null)).isInstanceOf(EsClient.EsUnavailableException.class)
          .hasMessageContaining("connection refused");
    }
  }

  @Test
  void basicAuthIsSentWhenConfigured() throws Exception {
    try (EsClient c = new EsClient(List.of(live()), "indexer", "s3cret", Duration.ofSeconds(5))) {
      c.sendSync("GET", "/", null);
    }
    assertThat(auth).containsExactly("Basic " + Base64.getEncoder().encodeToString("indexer:s3cret".getBytes(StandardCharsets.UTF_8)));
  }

  @TempDir
  java.nio.file.Path dir;

  @Test
  void anApiKeyIsSentAsElasticsearchExpectsIt() {
    io.iotpipe.core.config.IndexerConfig cfg = io.iotpipe.core.config.IotpipeConfig.parse("t", """
        brokers: {cloud: {uris: [amqp://127.0.0.1:5673]}}
        topology: {balancer: cloud}
        indexer: {urls: [%s], apiKey: "${ES_KEY}"}
        """.formatted(live()), k -> k.equals("ES_KEY") ? "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" : null).indexer();
    try (EsClient c = new EsClient(cfg)) {
      c.sendSync("GET", "/", null);
    }
    assertThat(auth).containsExactly("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
    assertThat(cfg.toString()).doesNotContain("VnVhQ2ZHY0JD");
  }

  @Test
  void httpsTrustsExactlyTheConfiguredCaAndSaysSoWhenItDoesNot() {
    TestPki pki = TestPki.create(dir, "engine");
    TestPki other = TestPki.create(dir, "other");
    try (TlsAuthProxy proxy = TlsAuthProxy.start(pki.server, live(), "indexer", "s3cret")) {
      String header = "Basic " + Base64.getEncoder().encodeToString("indexer:s3cret".getBytes(StandardCharsets.UTF_8));
      try (EsClient c = new EsClient(List.of(proxy.uri()), header, EsClient.trusting(pki.caPem), pki.caPem.toString(), Duration.ofSeconds(5))) {
        assertThat(c.sendSync("GET", "/", null).status()).isEqualTo(200);
      }
      try (EsClient c = new EsClient(List.of(proxy.uri()), header, EsClient.trusting(other.caPem), other.caPem.toString(), Duration.ofSeconds(5))) {
        assertThatThrownBy(() -> c.sendSync("GET", "/", null)).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("certificate is not trusted").hasMessageContaining("indexer.caFile (" + other.caPem + ")")
            .hasMessageNotContaining("s3cret");
      }
      try (EsClient c = new EsClient(List.of(proxy.uri()), header, null, null, Duration.ofSeconds(5))) {
        assertThatThrownBy(() -> c.sendSync("GET", "/", null)).hasMessageContaining("set indexer.caFile");
      }
      try (EsClient c = new EsClient(List.of(URI.create("https://localhost:" + proxy.uri().getPort())), null,
          EsClient.trusting(pki.caPem), pki.caPem.toString(), Duration.ofSeconds(5))) {
        assertThat(c.sendSync("GET", "/", null).status()).as("no credentials").isEqualTo(401);
      }
      assertThat(proxy.forwarded.get()).isEqualTo(1);
    }
    assertThat(auth).hasSize(1);
  }

  @Test
  void aCaFileThatIsNotPemNamesTheKey() throws Exception {
    java.nio.file.Path bad = java.nio.file.Files.writeString(dir.resolve("bad.pem"), "not a certificate");
    assertThatThrownBy(() -> EsClient.trusting(bad)).hasMessageStartingWith("indexer.caFile: ").hasMessageContaining(bad.toString());
  }
}
