package io.iotpipe.core.config;

import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where each stage of the pipeline lives and how big it is.
 *
 * @param prefix        name prefix of every exchange and queue (lets several pipelines share a vhost)
 * @param edges         brokers the devices publish to; each gets an ingress exchange and a bounded outbound queue
 * @param balancer      cloud broker holding the hash ingress exchange (the seed's "load balancer")
 * @param fanout        cloud broker holding the per-partition fanout and sink queues; when it differs from
 *                      {@code balancer}, each partition is connected to it by a shovel
 * @param failover      further cloud brokers the edge shovels fall back to (a second region)
 * @param partitions    number of partitions (hash buckets keyed on device id)
 * @param sinks         the sink queues every partition fans out to
 * @param queueType     {@code quorum} (replicated, default) or {@code classic}
 * @param edgeMaxMessages edge buffer bound in messages (devices get back-pressure past it)
 * @param edgeMaxBytes  edge buffer bound in bytes
 * @param deliveryLimit quorum queues dead-letter a message redelivered this often (a consumer crash loop guard)
 * @param shovelReconnectDelay how long a shovel waits before reconnecting
 * @param singleActiveConsumer sink queues deliver to one consumer at a time so per-device order holds even when
 *                      several instances consume the same partition (a standby takes over on failure)
 * @param layout        how a partition is stored in the cloud: {@code queues} (a fanout to one queue per sink: every
 *                      reading written once per sink) or {@code streams} (one stream per partition that every sink
 *                      group reads at its own stored position: written once)
 * @param streamMaxAge  with {@code layout: streams}: how long a stream keeps readings (segments older than this are
 *                      deleted whether or not a sink group read them, so it must outlast the longest sink outage)
 * @param wan           how readings cross from the edges to the cloud: the seed's shovel (one message per reading) or
 *                      the forwarder's batches (many readings per message)
 */
public record TopologyConfig(String prefix, List<String> edges, String balancer, String fanout, List<String> failover,
                             int partitions, List<String> sinks, QueueType queueType, long edgeMaxMessages,
                             long edgeMaxBytes, int deliveryLimit, Duration shovelReconnectDelay,
                             boolean singleActiveConsumer, Layout layout, Duration streamMaxAge, Wan wan) {

  public enum QueueType { QUORUM, CLASSIC }

  /** See {@code layout} above. */
  public enum Layout { QUEUES, STREAMS }

  /**
   * How readings cross the WAN.
   *
   * @param mode        {@code shovel}: a shovel moves each reading as its own message into the hash exchange (the
   *                    seed's topology); {@code batch}: {@code iotpipe forward} carries many readings of one partition
   *                    per message into the partition exchange
   * @param linger      with {@code batch}: the longest a reading waits at the forwarder for batch-mates
   * @param maxReadings with {@code batch}: most readings in one batch message
   * @param maxBytes    with {@code batch}: most bytes of one batch message (the readings' bodies and their framing)
   */
  public record Wan(WanMode mode, Duration linger, int maxReadings, long maxBytes) {

    static Wan read(ConfigNode c) {
      WanMode mode = c.enumValue("mode", WanMode.class, WanMode.SHOVEL);
      Duration linger = c.duration("linger", Duration.ofMillis(50), Duration.ZERO, Duration.ofSeconds(10));
      int maxReadings = c.integer("maxReadings", 500, 1, 100_000);
      // RabbitMQ 4.0 refuses messages above 16 MiB by default (max_message_size); a batch must stay under it.
      long maxBytes = c.bytes("maxBytes", 256 * 1024, 1024, 16L * 1024 * 1024);
      return new Wan(mode, linger, maxReadings, maxBytes);
    }

    public static Wan defaults() {
      return new Wan(WanMode.SHOVEL, Duration.ofMillis(50), 500, 256 * 1024);
    }

    public boolean batches() {
      return mode == WanMode.BATCH;
    }

    /** The largest message a sink may receive: a reading ({@code contract.maxBytes}) or, with batches, a batch. */
    public long largestMessage(long readingMaxBytes) {
      return batches() ? Math.max(readingMaxBytes, maxBytes) : readingMaxBytes;
    }
  }

  /** See {@link Wan#mode}. */
  public enum WanMode { SHOVEL, BATCH }

  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,30}");

  static TopologyConfig read(ConfigNode c) {
    String prefix = c.matching("prefix", "iotpipe", Pattern.compile("[a-z][a-z0-9._-]{0,40}"), "lower-case letters, digits, . _ -");
    List<String> edges = c.strings("edges", List.of());
    String balancer = c.string("balancer", null);
    c.markRequired("balancer");
    if (balancer == null) {
      c.error("balancer", "required: the name of the cloud broker under brokers:");
    }
    String fanout = c.string("fanout", balancer);
    List<String> failover = c.strings("failover", List.of());
    int partitions = c.integer("partitions", 4, 1, 1024);
    List<String> sinks = c.strings("sinks", List.of("elk", "storage"));
    String badName = sinks.stream().filter(n -> !NAME.matcher(n).matches()).findFirst().orElse(null);
    c.check("sinks", "each must match " + NAME.pattern(), badName == null, badName == null ? null : ConfigNode.quote(badName));
    c.check("sinks", "names must be unique", sinks.stream().distinct().count() == sinks.size(), null);
    QueueType type = c.enumValue("queueType", QueueType.class, QueueType.QUORUM);
    ConfigNode buffer = c.child("edgeBuffer");
    long maxMessages = buffer.longValue("maxMessages", 1_000_000, 1, Long.MAX_VALUE);
    long maxBytes = buffer.bytes("maxBytes", 1L << 30, 1, ConfigUnits.MAX_BYTES);
    buffer.finish();
    int deliveryLimit = c.integer("deliveryLimit", 20, 1, 10_000);
    Duration reconnect = c.duration("shovelReconnectDelay", Duration.ofSeconds(2));
    boolean sac = c.bool("singleActiveConsumer", true);
    Layout layout = c.enumValue("layout", Layout.class, Layout.QUEUES);
    // At least a day: a shorter retention would delete readings a sink group has not read during an ordinary outage.
    Duration maxAge = c.duration("streamMaxAge", Duration.ofDays(7), Duration.ofDays(1), ConfigUnits.MAX_DURATION);
    c.check("layout", "streams need every sink group to read a partition in order: singleActiveConsumer must stay true",
        layout != Layout.STREAMS || sac, null);
    ConfigNode wanNode = c.child("wan");
    Wan wan = Wan.read(wanNode);
    // Batches enter the partition exchanges on the balancer; a fanout on another broker (transfer shovels) and a
    // failover region (the shovel's re-pointing) have no forwarder counterpart yet.
    wanNode.check("mode", "batch needs the fanout on the balancer (no topology.fanout of its own) and no topology.failover yet",
        !wan.batches() || (failover.isEmpty() && (fanout == null || fanout.equals(balancer))), null);
    wanNode.finish();
    c.finish();
    return new TopologyConfig(prefix, edges, balancer, fanout, failover, partitions, sinks, type, maxMessages, maxBytes,
        deliveryLimit, reconnect, sac, layout, maxAge, wan);
  }

  public Names names() {
    return new Names(prefix);
  }

  /** The same topology with {@code region} as balancer and fanout, and the former balancer as its failover. */
  public TopologyConfig inRegion(String region) {
    List<String> others = new java.util.ArrayList<>();
    others.add(balancer);
    failover.stream().filter(f -> !f.equals(region)).forEach(others::add);
    return new TopologyConfig(prefix, edges, region, region, List.copyOf(others), partitions, sinks, queueType,
        edgeMaxMessages, edgeMaxBytes, deliveryLimit, shovelReconnectDelay, singleActiveConsumer, layout, streamMaxAge, wan);
  }
}
