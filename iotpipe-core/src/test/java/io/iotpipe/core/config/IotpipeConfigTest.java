package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IotpipeConfigTest {

  private static final Map<String, String> ENV = Map.of("CLOUD_PW", "s3cret-value");

  private static IotpipeConfig parse(String yaml) {
    return IotpipeConfig.parse("test.yaml", yaml, ENV::get);
  }

  private static ConfigException errors(String yaml) {
    return catchThrowableOfType(ConfigException.class, () -> parse(yaml));
  }

  @Test
  void theExampleFileIsValid() {
    IotpipeConfig c = IotpipeConfig.load(Path.of("../iotpipe.example.yaml"), ENV::get);
    assertThat(c.topology().partitions()).isPositive();
    assertThat(c.brokers()).containsKeys("edge", "cloud");
  }

  @Test
  void readsAMinimalConfigWithDefaults() {
    IotpipeConfig c = parse("""
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud:
            uris: [amqp://10.0.0.1:5672, amqp://10.0.0.2:5672/prod]
            password: ${CLOUD_PW}
        topology: {edges: [edge], balancer: cloud, partitions: 8}
        """);
    assertThat(c.topology().partitions()).isEqualTo(8);
    assertThat(c.topology().fanout()).isEqualTo("cloud");
    assertThat(c.topology().sinks()).containsExactly("elk", "storage");
    assertThat(c.broker("cloud").password().reveal()).isEqualTo("s3cret-value");
    assertThat(c.broker("cloud").toString()).doesNotContain("s3cret-value");
    assertThat(c.storage().rollAge()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.indexer().consumer().batchMax()).isEqualTo(1000);
  }

  @Test
  void reportsEveryErrorAtOnceWithKeyPaths() {
    ConfigException e = errors("""
        brokers:
          edge: {uris: [http://x], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://h:5672], pasword: x}
        topology: {edges: [edge, nowhere], balancer: cloud, partitions: 0, queueType: fancy}
        indexer: {period: weekly, consumer: {prefetch: 100000, batchWait: soon}}
        storage: {formats: [parquet, orc], rollBytes: lots}
        colour: blue
        """);
    assertThat(e.errors()).extracting(ConfigError::path).contains(
        "brokers.edge.uris[0]", "brokers.cloud.pasword", "topology.edges[1]", "topology.partitions",
        "topology.queueType", "indexer.period", "indexer.consumer.prefetch", "indexer.consumer.batchWait",
        "storage.formats[1]", "storage.rollBytes", "colour");
    assertThat(e.getMessage()).contains("has " + e.errors().size() + " errors")
        .contains("topology.edges[1]: must name a broker under brokers:, was \"nowhere\" (defined: edge, cloud)")
        .contains("topology.partitions: must be between 1 and 1024, was 0");
  }

  @Test
  void refusesLiteralPasswordsAndNamesMissingVariables() {
    ConfigException e = errors("""
        brokers:
          cloud: {uris: [amqp://h], password: hunter2}
          other: {uris: [amqp://h], password: "${NOT_SET}"}
        topology: {balancer: cloud}
        """);
    assertThat(e.getMessage()).contains("brokers.cloud.password: credentials must reference an environment variable")
        .contains("brokers.other.password: environment variable NOT_SET is not set")
        .doesNotContain("hunter2");
  }

  @Test
  void fanoutOnAnotherBrokerNeedsItsManagementApi() {
    ConfigException e = errors("""
        brokers:
          lb: {uris: [amqp://h1]}
          fo: {uris: [amqp://h2]}
        topology: {balancer: lb, fanout: fo}
        """);
    assertThat(e.errors()).extracting(ConfigError::path).containsExactly("brokers.lb.management");
  }

  @Test
  void parsesSizesAndDurations() {
    assertThat(ConfigUnits.parseBytes("64MiB")).isEqualTo(64L << 20);
    assertThat(ConfigUnits.parseBytes("1GB")).isEqualTo(1_000_000_000L);
    assertThat(ConfigUnits.parseDuration("90d")).isEqualTo(Duration.ofDays(90));
    assertThat(ConfigUnits.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(ConfigUnits.parseDuration("soon")).isNull();
  }
}
