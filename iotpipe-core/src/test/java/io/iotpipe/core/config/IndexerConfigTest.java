package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The indexer's transport keys: HTTPS trust, credentials, the in-flight byte bound. */
class IndexerConfigTest {

  private static final Map<String, String> ENV = Map.of("ES_PW", "pw-not-to-be-printed", "ES_KEY", "a2V5LWlkOmtleQ==");

  @TempDir
  Path dir;

  private static IotpipeConfig parse(String indexer) {
    return IotpipeConfig.parse("test.yaml", """
        brokers:
          cloud: {uris: [amqp://h:5672]}
        topology: {balancer: cloud}
        indexer: %s
        """.formatted(indexer), ENV::get);
  }

  @Test
  void httpsWithACaFileAndBasicAuth() throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    IndexerConfig c = parse("{urls: [https://es.example:9200], caFile: " + ca + ", username: indexer, password: '${ES_PW}', "
        + "maxInFlightBytes: 64MiB}").indexer();
    assertThat(c.caFile()).isEqualTo(ca);
    assertThat(c.password().reveal()).isEqualTo("pw-not-to-be-printed");
    assertThat(c.apiKey().isSet()).isFalse();
    assertThat(c.maxInFlightBytes()).isEqualTo(64L << 20);
    assertThat(c.toString()).doesNotContain("pw-not-to-be-printed");
  }

  @Test
  void defaultsBoundBytesInFlight() {
    IndexerConfig c = parse("{}").indexer();
    assertThat(c.maxInFlightBytes()).isEqualTo(32L << 20);
    assertThat(c.caFile()).isNull();
  }

  @Test
  void everyTransportMistakeIsNamedByItsKey() throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(
        "{urls: [http://es:9200], caFile: " + ca + ", password: '${ES_PW}', apiKey: '${ES_KEY}', maxInFlightBytes: 10KiB}"));
    assertThat(e.getMessage())
        .contains("indexer.caFile: only with an https:// entry in indexer.urls")
        .contains("indexer.apiKey: use either apiKey or username/password")
        .contains("indexer.password: a password needs a username")
        .contains("indexer.maxInFlightBytes: must be between 1MiB")
        .doesNotContain("pw-not-to-be-printed").doesNotContain("a2V5LWlkOmtleQ==");
    ConfigException missing = catchThrowableOfType(ConfigException.class, () -> parse(
        "{urls: [https://es:9200], caFile: " + dir.resolve("nope.pem") + "}"));
    assertThat(missing.getMessage()).contains("indexer.caFile: must be a readable PEM file").contains(dir.resolve("nope.pem").toString());
  }

  @Test
  void anApiKeyAlone() {
    IndexerConfig c = parse("{urls: [https://es:9200], apiKey: '${ES_KEY}'}").indexer();
    assertThat(c.apiKey().reveal()).isEqualTo("a2V5LWlkOmtleQ==");
  }
}
