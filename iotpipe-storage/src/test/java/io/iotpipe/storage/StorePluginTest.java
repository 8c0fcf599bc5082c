package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.StandaloneSinkContext;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store plugin builds its sink for the consumer settings the runtime really runs it with. */
class StorePluginTest {

  @TempDir
  Path dir;

  @Test
  void theStorageWriterCommitsWithinTheFittedPrefetchNotTheConfiguredOne() throws Exception {
    // Configured prefetch 5000 (files of 2,500 rows), fitted to a small heap: 1,024 per partition. A partition then
    // never has more than 1,024 unacked readings, so a file must commit at 512 of them — not wait for rollAge (1 h here).
    IotpipeConfig cfg = IotpipeConfig.parse("t.yaml", """
        brokers:
          cloud: {uris: [amqp://127.0.0.1:5673]}
        topology: {balancer: cloud}
        storage:
          dir: %s
          rollAge: 1h
        """.formatted(dir), k -> null);
    ConsumerSettings fitted = cfg.storage().consumer().withPrefetch(1024);
    List<SinkRecord> rows = new ArrayList<>();
    for (int i = 0; i < 1024; i++) {
      rows.add(new SinkRecord(new Telemetry("dev-" + i % 10, i / 10 + 1, Instant.now().minusSeconds(60), "s", "eu", "IDLE", null,
          Map.of("powerKw", 1.0 * i)), new byte[200], "q.p0", 0));
    }
    StandaloneSinkContext ctx = new StandaloneSinkContext("test", new SimpleMeterRegistry(), java.time.Clock.systemUTC(), fitted,
        StorageSink.COMMIT_THREADS, StorageSink.COMMIT_TICK);
    Sink sink = new StorePlugin().create(cfg, ctx);
    ctx.drive(sink);
    try {
      sink.open("q.p0");
      List<Outcome> out = sink.write(rows).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(out).hasSize(1024).containsOnly(Outcome.DELIVERED);
    } finally {
      sink.close();
      ctx.close();
    }
  }
}
