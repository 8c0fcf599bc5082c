package io.iotpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.iotpipe.storage.StorageSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data scientist queries the store with the pipeline's config but without the brokers' passwords in the
 * environment: {@code query} checks and resolves only the {@code storage} section. Commands that talk to brokers
 * still refuse the same config, naming the variable.
 */
class QueryLeastPrivilegeTest {

  @TempDir
  Path dir;

  @Test
  void queryReadsTheStoreWithoutBrokerCredentialsWhileBrokerCommandsStillNeedThem() throws Exception {
    String unset = "IOTPIPE_TEST_UNSET_" + Long.toHexString(System.nanoTime()).toUpperCase();
    Path config = dir.resolve("iotpipe.yaml");
    Files.writeString(config, """
        brokers:
          edge: {uris: [amqps://edge.example:5671], username: admin, password: "${%1$s}"}
          cloud: {uris: [amqps://cloud.example:5671], username: admin, password: "${%1$s}"}
        topology: {balancer: cloud, edges: [edge]}
        storage:
          dir: %2$s
        """.formatted(unset, dir.resolve("store")));
    IotpipeConfig storeOnly = IotpipeConfig.load(config, System::getenv, java.util.Set.of("storage"));
    List<SinkRecord> rows = new ArrayList<>();
    for (int i = 1; i <= 20; i++) {
      rows.add(new SinkRecord(new Telemetry("evc-" + i % 4, i, Instant.now().minusSeconds(60), "s", "eu", "IDLE", null,
          Map.of("powerKw", 1.0 * i)), new byte[10], "q.p0", 0));
    }
    try (StorageSink sink = new StorageSink(storeOnly.storage(), Clock.systemUTC(), new SimpleMeterRegistry())) {
      sink.open("q.p0");
      var pending = sink.write(rows);
      sink.flush();
      assertThat(pending.toCompletableFuture().get(30, TimeUnit.SECONDS)).containsOnly(Outcome.DELIVERED);
    }

    CliTest.Result query = CliTest.run("query", "--config", config.toString(), "--format", "csv", "SELECT count(*) AS n FROM telemetry");
    assertThat(query.exit()).as(query.err()).isZero();
    assertThat(query.out()).contains("n").contains("20");
    assertThat(query.err()).doesNotContain(unset);

    CliTest.Result plan = CliTest.run("topology", "plan", "--config", config.toString());
    assertThat(plan.exit()).isEqualTo(2);
    assertThat(plan.err()).contains("brokers.edge.password: environment variable " + unset + " is not set");
  }
}
