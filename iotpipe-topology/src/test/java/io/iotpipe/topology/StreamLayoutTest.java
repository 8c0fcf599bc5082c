package io.iotpipe.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.config.ConfigException;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code topology.layout: streams}: each partition one stream (written once), no queue per sink, DLQs kept. */
class StreamLayoutTest {

  static IotpipeConfig config(String topologyExtra) {
    return IotpipeConfig.parse("t.yaml", """
        brokers:
          cloud: {uris: ["amqp://127.0.0.1:5673"], management: http://127.0.0.1:15673}
        topology: {balancer: cloud, partitions: 2%s}
        """.formatted(topologyExtra), Map.<String, String>of()::get);
  }

  static List<String> names(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(n -> out.add(n.path("name").asText()));
    return out;
  }

  @Test
  void queuesStayTheDefault() {
    JsonNode d = DefinitionsExport.export(config(""), DefinitionsExport.Tier.CLOUD, null).definitions();
    assertThat(names(d.path("queues"))).contains("iotpipe.elk.p0", "iotpipe.storage.p1").noneMatch(n -> n.endsWith(".stream"));
  }

  @Test
  void eachPartitionIsOneStreamBoundToItsPartitionExchangeAndTheDeadLetterQueuesStayQueues() {
    JsonNode d = DefinitionsExport.export(config(", layout: streams, streamMaxAge: 2d"), DefinitionsExport.Tier.CLOUD, null)
        .definitions();
    assertThat(names(d.path("queues"))).containsExactlyInAnyOrder("iotpipe.p0.stream", "iotpipe.p1.stream",
        "iotpipe.dlq.elk", "iotpipe.dlq.storage");
    for (JsonNode q : d.path("queues")) {
      String type = q.path("arguments").path("x-queue-type").asText();
      if (q.path("name").asText().endsWith(".stream")) {
        assertThat(type).isEqualTo("stream");
        assertThat(q.path("arguments").path("x-max-age").asText()).isEqualTo("172800s");
      } else {
        assertThat(type).isEqualTo("quorum");
      }
    }
    assertThat(d.path("bindings")).anySatisfy(b -> {
      assertThat(b.path("source").asText()).isEqualTo("iotpipe.p1");
      assertThat(b.path("destination").asText()).isEqualTo("iotpipe.p1.stream");
      assertThat(b.path("destination_type").asText()).isEqualTo("queue");
    });
  }

  @Test
  void streamsWithoutSingleActiveConsumerAndUnknownLayoutsAreRefusedWithTheRule() {
    assertThatThrownBy(() -> config(", layout: streams, singleActiveConsumer: false"))
        .isInstanceOf(ConfigException.class).hasMessageContaining("topology.layout")
        .hasMessageContaining("singleActiveConsumer must stay true");
    assertThatThrownBy(() -> config(", layout: superstream")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topology.layout").hasMessageContaining("queues");
    assertThatThrownBy(() -> config(", layout: streams, streamMaxAge: 1h")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("topology.streamMaxAge");
  }

  static JsonNode overview(String json) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
  }

  @Test
  void planRefusesBrokersWithoutSingleActiveConsumerOnStreamsOrWithoutTheStreamPluginNamingTheFix() throws Exception {
    assertThatThrownBy(() -> TopologyPlanner.streamsPreflight("cloud", overview("""
        {"rabbitmq_version": "3.10.8", "listeners": [{"protocol": "stream"}]}""")))
        .hasMessage("broker \"cloud\" runs RabbitMQ 3.10.8, and topology.layout: streams needs 3.11 or later (single active "
            + "consumer on streams): upgrade it, or keep topology.layout: queues");
    assertThatThrownBy(() -> TopologyPlanner.streamsPreflight("cloud", overview("""
        {"rabbitmq_version": "4.0.5", "listeners": [{"protocol": "amqp"}]}""")))
        .hasMessageContaining("rabbitmq-plugins enable rabbitmq_stream");
    TopologyPlanner.streamsPreflight("cloud", overview("""
        {"rabbitmq_version": "4.0.5", "listeners": [{"protocol": "amqp"}, {"protocol": "stream"}]}"""));
  }
}
