package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.iotpipe.broker.RabbitDistribution;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.consume.SinkConsumer;
import io.iotpipe.security.SecureLocalStack;
import io.iotpipe.topology.TopologyPlanner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code topology.layout: streams} on secured brokers (RabbitMQ 4.0, TLS-only listeners, client certificates, no
 * guest): each sink group reads the partition streams over the stream protocol on TLS as its own least-privilege
 * account, stores its position with that account's rights and resumes after it; an account without the grant (the
 * shovel's, which may only write) is refused.
 */
class SecureStreamsIT {

  static final int PARTITIONS = 2;
  @TempDir
  static Path dir;
  static SecureLocalStack stack;
  static String prefix = "ss" + UUID.randomUUID().toString().substring(0, 6);

  @BeforeAll
  static void start() throws Exception {
    StreamLayoutIT.ensureRoot(RabbitDistribution.withStreams());
    stack = SecureLocalStack.start(dir, 1, prefix, List.of("elk", "storage"), true);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  static IotpipeConfig config(String account) {
    String yaml = stack.configYaml(account, PARTITIONS, null).replace("  queueType: quorum\n", "  queueType: quorum\n  layout: streams\n");
    return IotpipeConfig.parse("secure-streams-" + account, yaml, stack.env(account));
  }

  @Test
  void eachGroupReadsOverTlsAsItsOwnAccountResumesFromItsPositionAndAWriteOnlyAccountIsRefused() throws Exception {
    IotpipeConfig admin = config(stack.adminUser());
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(admin, planner.plan(admin));
    assertThat(planner.plan(admin).pending()).as("apply leaves nothing to do").isEmpty();
    assertThat(admin.broker("cloud").streamUris()).isNotEmpty();

    Map<String, Integer> elkStored = new ConcurrentHashMap<>();
    Map<String, Integer> storageStored = new ConcurrentHashMap<>();
    try (Connection c = Amqp.connect(admin.broker("cloud"), "it-secure-streams"); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      Set<String> first = StreamLayoutIT.publish(admin, ch, 1, 10);
      SinkConsumer storage = StreamLayoutIT.consumer(config(prefix + "-storage"), new StreamLayoutIT.CountingSink("storage", storageStored));
      try (SinkConsumer elk = StreamLayoutIT.consumer(config(prefix + "-elk"), new StreamLayoutIT.CountingSink("elk", elkStored))) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          assertThat(elkStored.keySet()).containsExactlyInAnyOrderElementsOf(first);
          assertThat(storageStored.keySet()).containsExactlyInAnyOrderElementsOf(first);
        });
        assertThat(elkStored.values()).containsOnly(1);
        assertThat(storageStored.values()).containsOnly(1);
        // storage stops; more readings; a new storage instance resumes after the position its account stored
        await().atMost(Duration.ofSeconds(10)).until(() -> storage.stats().pending() == 0);
        storage.close(Duration.ofSeconds(10));
        Set<String> second = StreamLayoutIT.publish(admin, ch, 11, 12);
        Map<String, Integer> resumed = new ConcurrentHashMap<>();
        try (SinkConsumer again = StreamLayoutIT.consumer(config(prefix + "-storage"), new StreamLayoutIT.CountingSink("storage", resumed))) {
          await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(resumed.keySet()).containsAll(second));
          assertThat(resumed.keySet()).as("no replay of what storage had stored").containsExactlyInAnyOrderElementsOf(second);
        }
      }
    }

    // The shovel's account may write the partition exchanges but read nothing: its stream reader is refused.
    Map<String, Integer> stolen = new ConcurrentHashMap<>();
    try (SinkConsumer thief = StreamLayoutIT.consumer(config(prefix + "-shovel"), new StreamLayoutIT.CountingSink("thief", stolen))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> thief.stats().lastError() != null);
      assertThat(thief.stats().connected()).isFalse();
      assertThat(thief.stats().lastError()).containsIgnoringCase("access");
      assertThat(stolen).isEmpty();
    }
  }
}
