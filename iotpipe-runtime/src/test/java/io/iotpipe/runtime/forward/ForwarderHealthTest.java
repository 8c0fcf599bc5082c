package io.iotpipe.runtime.forward;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.config.TopologyConfig;
import io.iotpipe.sink.SinkHealth;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What an operator's probe sees of a forwarder that has not forwarded yet (the state after a start or a loss). */
class ForwarderHealthTest {

  static BrokerConfig broker(String name) {
    return new BrokerConfig(name, List.of(URI.create("amqp://127.0.0.1:1")), null, "u", new Secret("", "p"), "eu", List.of());
  }

  @Test
  void beforeItsFirstSessionItIsDegradedWithTheReasonAndItsMetricsExist() {
    try (Forwarder f = new Forwarder(broker("edge"), broker("cloud"), new Names("t"), TopologyConfig.Wan.defaults(), 2)) {
      SinkHealth h = f.health();
      assertThat(h.state()).as("reconnecting is not down: the edge buffers").isEqualTo(SinkHealth.State.DEGRADED);
      assertThat(h.reason()).startsWith("not forwarding from edge to cloud for ").endsWith(": connecting");
      assertThat(f.healthPart().details()).containsEntry("connected", false).containsEntry("readingsConfirmed", 0L);
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      f.bindTo(registry);
      assertThat(registry.get("iotpipe.forward.connected").gauge().value()).isZero();
      assertThat(registry.get("iotpipe.forward.readings").functionCounter().count()).isZero();
    }
  }
}
