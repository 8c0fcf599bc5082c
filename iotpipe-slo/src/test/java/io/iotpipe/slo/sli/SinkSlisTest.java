package io.iotpipe.slo.sli;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.SloConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SinkSlisTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final SinkSlis slis = new SinkSlis("storage", SloConfig.defaults(List.of("elk", "storage"), Duration.ofSeconds(60)), registry);

  private static SinkRecord record(long seq, Instant ts, long publishedAt) {
    return new SinkRecord(new Telemetry("ch-1", seq, ts, null, null, null, null, Map.of("soc", 1.0)), new byte[0], "q", publishedAt);
  }

  @Test
  void mqttReadingsWithoutAPublishTimeAreTimedFromTheirOwnTs() {
    Instant ts = Instant.parse("2026-11-25T10:00:00Z");
    slis.durable(record(1, ts, 0), ts.toEpochMilli() + 2_000);                          // MQTT: no header, no timestamp
    slis.durable(record(2, ts, ts.toEpochMilli() + 500), ts.toEpochMilli() + 100_000);  // AMQP header: 99.5 s, past 90 s
    var timer = registry.get("iotpipe.sli.freshness").tag("sink", "storage").timer();
    assertThat(timer.count()).isEqualTo(2);
    assertThat(timer.max(java.util.concurrent.TimeUnit.MILLISECONDS)).isEqualTo(99_500);
    // the bucket at the storage target (rollAge 60 s + 30 s) holds the first only
    var buckets = timer.takeSnapshot().histogramCounts();
    assertThat(java.util.Arrays.stream(buckets).filter(b -> b.bucket(java.util.concurrent.TimeUnit.SECONDS) == 90.0).findFirst()
        .orElseThrow().count()).isEqualTo(1);
    assertThat(registry.get("iotpipe.sli.freshness.source").tag("source", "reading-ts").counter().count()).isEqualTo(1);
    assertThat(registry.get("iotpipe.sli.freshness.source").tag("source", "header").counter().count()).isEqualTo(1);
  }

  @Test
  void deadLetteredReadingsCloseGapsWithoutCountingAsDelivered() {
    Instant ts = Instant.now();
    slis.durable(record(1, ts, 0), ts.toEpochMilli());
    slis.deadLettered(record(2, ts, 0));
    slis.durable(record(3, ts, 0), ts.toEpochMilli());
    assertThat(slis.completeness().readings()).isEqualTo(2);
    assertThat(slis.completeness().gapsOpen()).isZero();
  }
}
