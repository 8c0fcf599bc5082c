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
        .contains("host => \"10.0.0.5\"").doesNotContain("secret-value");
  }
}
