package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SloConfigTest {

  private static final String BASE = """
      brokers:
        edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
        cloud: {uris: [amqp://127.0.0.1:5673]}
      topology: {edges: [edge], balancer: cloud}
      storage: {rollAge: 20s}
      """;

  private static IotpipeConfig parse(String slo) {
    return IotpipeConfig.parse("test.yaml", BASE + slo, Map.<String, String>of()::get);
  }

  @Test
  void withoutASloSectionEverySinkGetsTheDefaults() {
    SloConfig s = parse("").slo();
    assertThat(s.window()).isEqualTo(Duration.ofDays(30));
    assertThat(s.completeness().target()).isEqualTo(0.9999);
    assertThat(s.completeness().grace()).isEqualTo(Duration.ofMinutes(5));
    assertThat(s.freshness().get("elk")).isEqualTo(new SloConfig.Freshness(0.99, Duration.ofSeconds(5)));
    // files: rollAge + 30 s
    assertThat(s.freshness().get("storage")).isEqualTo(new SloConfig.Freshness(0.99, Duration.ofSeconds(50)));
    assertThat(s.availability().target()).isEqualTo(0.999);
    assertThat(s.availability().countDegraded()).isFalse();
  }

  @Test
  void targetsReadAsPercentOrRatio() {
    SloConfig s = parse("""
        slo:
          window: 28d
          completeness: {target: 99.9%, grace: 2m}
          freshness: {sinks: {elk: {target: 99.5, within: 3s}}}
          availability: {target: 0.995, countDegraded: true}
        """).slo();
    assertThat(s.window()).isEqualTo(Duration.ofDays(28));
    assertThat(s.completeness().target()).isEqualTo(0.999);
    assertThat(s.freshness().get("elk")).isEqualTo(new SloConfig.Freshness(0.995, Duration.ofSeconds(3)));
    assertThat(s.freshness().get("storage").within()).isEqualTo(Duration.ofSeconds(50));
    assertThat(s.availability().target()).isEqualTo(0.995);
    assertThat(s.availability().countDegraded()).isTrue();
  }

  @Test
  void everyMistakeIsReportedWithItsKeyPath() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse("""
        slo:
          window: 2h
          completeness: {target: 100%, grase: 1m}
          freshness: {sinks: {mongo: {target: 99%}, elk: {target: lots}}}
          availability: {target: 0}
        """));
    assertThat(e.errors()).extracting(ConfigError::path).contains("slo.window", "slo.completeness.target",
        "slo.completeness.grase", "slo.freshness.sinks.mongo", "slo.freshness.sinks.elk.target", "slo.availability.target");
    assertThat(e.getMessage()).contains("100% leaves no error budget");
  }
}
