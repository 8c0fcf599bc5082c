package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import org.junit.jupiter.api.Test;

class LogstashConfigTest {

  @Test
  void rendersOneInputPerElkQueueAndTheSameIdsAndIndices() {
    IotpipeConfig cfg = IotpipeConfig.parse("t", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://10.0.0.5:5673], password: "${CLOUD_PW}"}
        topology: {edges: [edge], balancer: cloud, partitions: 3}
        indexer: {urls: [http://es:9200], indexPrefix: ev}
        """, k -> k.equals("CLOUD_PW") ? "secret-value" : null);
    String out = LogstashConfig.render(cfg);
    assertThat(out).contains("queue => \"iotpipe.elk.p0\"").contains("queue => \"iotpipe.elk.p2\"").doesNotContain("elk.p3")
        .contains("document_id => \"%{deviceId}:%{seq}\"").contains("index => \"ev-%{+yyyy.MM.dd}\"")
        .contains("host => \"10.0.0.5\"").doesNotContain("secret-value").contains("action => \"create\"");
  }

  @Test
  void httpsWithAPrivateCaCarriesItsCaFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path ca = java.nio.file.Files.writeString(dir.resolve("ca.pem"), "pem");
    IotpipeConfig cfg = IotpipeConfig.parse("t", """
        brokers:
          cloud: {uris: [amqp://10.0.0.5:5673]}
        topology: {balancer: cloud}
        indexer: {urls: [https://es:9200], caFile: %s, username: iotpipe, password: "${ES_PW}"}
        """.formatted(ca), k -> k.equals("ES_PW") ? "pw-value" : null);
    assertThat(LogstashConfig.render(cfg)).contains("ssl_certificate_authorities => [\"" + ca + "\"]")
        .contains("password => \"${IOTPIPE_ES_PASSWORD}\"").doesNotContain("pw-value");
  }

  @Test
  void aFleetWithTenantsIsRefusedNamingWhatWouldGoWrongAndWhatToRunInstead() {
    IotpipeConfig cfg = IotpipeConfig.parse("t", """
        brokers:
          cloud: {uris: [amqp://10.0.0.5:5673]}
        topology: {balancer: cloud}
        indexer: {urls: [http://es:9200]}
        tenants: {registry: /etc/iotpipe/tenants.tsv}
        """, k -> null);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogstashConfig.render(cfg))
        .hasMessageContaining("tenants.registry is set").hasMessageContaining("shared indices")
        .hasMessageContaining("iotpipe run --role index");
  }
}
