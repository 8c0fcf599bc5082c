package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rebuild's own rules, before any engine is involved: targets, suffixes and checkpoints. */
class ReindexerTest {

  @TempDir
  Path dir;

  static IndexerConfig config(String period) {
    return IotpipeConfig.parse("test", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {edges: [edge], balancer: cloud}
        indexer:
          urls: [http://127.0.0.1:1]
          indexPrefix: telemetry
          period: %s
        """.formatted(period), k -> null).indexer();
  }

  @Test
  void aSuffixNamesNewIndicesBesideTheLiveOnes() {
    try (Reindexer live = new Reindexer(config("daily"), new Reindexer.Options(null, 0, Duration.ofSeconds(1), null), null);
         Reindexer beside = new Reindexer(config("daily"), new Reindexer.Options("v2", 0, Duration.ofSeconds(1), null), null)) {
      assertThat(live.indices()).isEqualTo("telemetry-*");
      assertThat(beside.indices()).isEqualTo("telemetry-*-v2");
    }
    assertThatThrownBy(() -> new Reindexer(config("daily"), new Reindexer.Options("V2!", 0, Duration.ofSeconds(1), null), null))
        .hasMessageContaining("--index-suffix V2!").hasMessageContaining("lower case");
    assertThatThrownBy(() -> new Reindexer(config("none"), new Reindexer.Options("v2", 0, Duration.ofSeconds(1), null), null))
        .hasMessageContaining("indexer.period daily or monthly");
  }

  @Test
  void aCheckpointSkipsOnlyItsOwnTargetsHours() throws Exception {
    Path cp = dir.resolve("cp.json");
    Files.writeString(cp, "{\"target\":\"telemetry-*,telemetry-latest\",\"done\":[\"2026-12-06T00\",\"2026-12-06T01\"]}");
    try (Reindexer r = new Reindexer(config("daily"), new Reindexer.Options(null, 0, Duration.ofSeconds(1), cp), null)) {
      assertThat(r.skip("2026-12-06T00")).isTrue();
      assertThat(r.skip("2026-12-06T02")).isFalse();
      assertThat(r.summary().skipped()).isEqualTo(1);
    }
    assertThatThrownBy(() -> new Reindexer(config("daily"), new Reindexer.Options("v2", 0, Duration.ofSeconds(1), cp), null))
        .hasMessageContaining("belongs to a rebuild of telemetry-*,telemetry-latest").hasMessageContaining("pass another --checkpoint");
    Files.writeString(cp, "{not json");
    assertThatThrownBy(() -> new Reindexer(config("daily"), new Reindexer.Options(null, 0, Duration.ofSeconds(1), cp), null))
        .hasMessageContaining("is not readable JSON").hasMessageContaining("delete it to start over");
  }

  @Test
  void progressNeverShowsMoreFoundPresentThanAnswered() {
    // resumed over 3,000 indexed readings: 2,000 found present by writes answered so far, all of them delivered
    assertThat(Reindexer.progressOf("2026-12-07T19", 3000, 2000, 0, 2000, 0))
        .isEqualTo(new Reindexer.Progress("2026-12-07T19", 3000, 0, 2000, 0, 0));
    // a write the sink has counted as present, its answer not added yet: not a negative "written"
    assertThat(Reindexer.progressOf("h", 3000, 1000, 0, 2000, 0)).isEqualTo(new Reindexer.Progress("h", 3000, 0, 1000, 0, 0));
    assertThat(Reindexer.progressOf("h", 3000, 2500, 3, 2000, 5)).isEqualTo(new Reindexer.Progress("h", 3000, 500, 2000, 3, 0));
  }
}
