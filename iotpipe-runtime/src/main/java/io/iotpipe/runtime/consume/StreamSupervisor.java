package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Connection;
import com.rabbitmq.stream.Consumer;
import com.rabbitmq.stream.ConsumerFlowStrategy;
import com.rabbitmq.stream.Environment;
import com.rabbitmq.stream.Message;
import com.rabbitmq.stream.NoOffsetException;
import com.rabbitmq.stream.OffsetSpecification;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a sink group's partition streams ({@code topology.layout: streams}) with RabbitMQ's stream client: one
 * consumer per partition stream, named after the sink group and single active, so that of all the group's instances
 * exactly one reads a partition and another is made active by the broker when its connection goes away. The position
 * is tracked on the broker (the stream client's manual tracking under the group's name) and moved only by
 * {@link StreamPartition} after the sink reported the records durable; a newly active instance starts right after it.
 *
 * <p>The stream client reconnects and resubscribes by itself; a partition's activation and deactivation come as
 * consumer updates and are reported to the sink as open/close. Dead letters go out over an AMQP connection (the
 * dead-letter queues are queues in both layouts).
 */
final class StreamSupervisor implements Supervision {

  private static final Logger LOG = LoggerFactory.getLogger(StreamSupervisor.class);
  /**
   * Chunks the broker may send ahead per partition. A chunk is what the stream wrote in one go (one to a few thousand
   * messages); more credits are granted once half of a chunk is processed, which {@link StreamPartition} reports on
   * arrival within the prefetch window and on settlement beyond it: an instance holds at most the prefetch plus these.
   */
  static final int CHUNK_CREDITS = 4;
  /** Message annotations that describe the stream or the routing, not headers the publisher set. */
  private static final java.util.Set<String> ROUTING_ANNOTATIONS = java.util.Set.of("x-exchange", "x-routing-key");

  /** What the supervisor reports; called on the stream client's threads. */
  interface Listener {
    void opened(StreamPartition partition);

    void closed(StreamPartition partition);

    void delivered(StreamPartition partition, long offset, String exchange, String routingKey, AMQP.BasicProperties props,
                   byte[] body);
  }

  private final String group;
  private final int prefetch;
  private final BrokerConfig broker;
  private final List<String> streams;
  private final Backoff backoff;
  private final ScheduledExecutorService scheduler;
  private final Listener listener;

  private final Object lock = new Object();
  private volatile Environment environment;
  /** Concurrent, so that {@link #connected()} reads it without the lock. */
  private final Map<String, Consumer> consumers = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, AtomicReference<StreamPartition>> active = new HashMap<>();
  /** Per stream: the last offset received and when (or when subscribed), for {@link #watch()}. */
  private final Map<String, Progress> progress = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile long resubscriptions;
  private Connection deadLetterConnection;
  private ConfirmingPublisher deadLetters;
  private volatile boolean cancelled;
  private volatile boolean closing;
  private int attempt;
  private volatile long disconnectedSince = System.currentTimeMillis();
  private volatile String lastError;
  private volatile long connections;
  /** host:port of every node, for {@link #storedPosition}. */
  private final List<String> nodes;
  private final Object offsets = new Object();
  private com.rabbitmq.stream.impl.Client offsetClient;
  private int offsetNode;

  /**
   * A partition this instance reads, with nothing unsettled, that received nothing for this long while its stream holds
   * newer records is subscribed again (see {@link #watch()}).
   */
  static final Duration STALL_AFTER = Duration.ofSeconds(20);

  /** See {@link #watch()}: how long the group's position may rest while its stream grows, before and after tries. */
  static final Duration GROUP_STALL_AFTER = Duration.ofSeconds(30);
  static final Duration GROUP_STALL_MAX = Duration.ofMinutes(16);
  /** Per stream this instance does not read: the group's stored position as last seen, since when, and the wait. */
  private final Map<String, GroupWatch> groupWatch = new java.util.concurrent.ConcurrentHashMap<>();

  private static final class GroupWatch {
    long position;
    long since;
    long committedSeen;
    Duration patience = GROUP_STALL_AFTER;
  }

  /** The last offset received on a stream and when (nanoTime), or the subscription's time before any. */
  private static final class Progress {
    volatile long offset = -1;
    volatile long at = System.nanoTime();
    /** The stream's last committed chunk when this partition was last fresh (-1: not seen since subscribing). */
    volatile long committedSeen = -1;
  }

  /**
   * @param group    the sink group: the consumer name the broker keeps positions under and elects one reader of
   * @param prefetch records per partition reported processed before they are settled (see {@link StreamPartition})
   */
  StreamSupervisor(String group, BrokerConfig broker, List<String> streams, int prefetch, Backoff backoff,
                   ScheduledExecutorService scheduler, Listener listener) {
    this.prefetch = prefetch;
    this.group = group;
    this.broker = broker;
    this.streams = List.copyOf(streams);
    this.backoff = backoff;
    this.scheduler = scheduler;
    this.listener = listener;
    scheduler.scheduleWithFixedDelay(this::watch, 5, 5, TimeUnit.SECONDS);
    streams.forEach(s -> active.put(s, new AtomicReference<>()));
    this.nodes = streamUris(broker).stream().map(u -> {
      URI parsed = URI.create(u);
      return parsed.getHost() + ":" + parsed.getPort();
    }).toList();
  }

  /**
   * {@code rabbitmq-stream://} URIs of the broker's nodes with the broker's credentials and vhost: its
   * {@code streamUris}, else the hosts of its AMQP URIs on the default stream port. A broker reached over TLS (amqps)
   * is read over TLS too ({@code rabbitmq-stream+tls://}, default port {@link #STREAM_TLS_PORT}).
   */
  static List<String> streamUris(BrokerConfig broker) {
    String user = URLEncoder.encode(broker.username(), StandardCharsets.UTF_8);
    String pass = URLEncoder.encode(broker.password().reveal() == null ? "" : broker.password().reveal(), StandardCharsets.UTF_8);
    String vhost = URLEncoder.encode(broker.vhost(), StandardCharsets.UTF_8);
    boolean tls = tls(broker);
    int defaultPort = tls ? STREAM_TLS_PORT : BrokerConfig.STREAM_PORT;
    List<String> hostPorts = broker.streamUris().isEmpty()
        ? broker.uris().stream().map(u -> u.getHost() + ":" + defaultPort).toList()
        : broker.streamUris().stream().map(u -> u.getHost() + ":" + (u.getPort() > 0 ? u.getPort() : defaultPort)).toList();
    return hostPorts.stream().map(hp -> (tls ? "rabbitmq-stream+tls://" : "rabbitmq-stream://") + user + ":" + pass + "@" + hp
        + "/" + vhost).toList();
  }

  /** RabbitMQ's default port of the stream protocol over TLS. */
  static final int STREAM_TLS_PORT = 5551;

  static boolean tls(BrokerConfig broker) {
    return broker.uris().stream().anyMatch(u -> "amqps".equals(u.getScheme()));
  }

  /**
   * The stream client's TLS context (Netty's) from the same PEM files as the AMQP connections: the {@code cacertfile},
   * {@code certfile} and {@code keyfile} of the broker's first amqps URI; peer verification always.
   */
  static io.netty.handler.ssl.SslContext sslContext(BrokerConfig broker) {
    java.util.Map<String, String> q = io.iotpipe.core.tls.PemTls.query(broker.uris().getFirst());
    try {
      var b = io.netty.handler.ssl.SslContextBuilder.forClient();
      if (q.containsKey("cacertfile")) {
        b.trustManager(new java.io.File(q.get("cacertfile")));
      }
      if (q.containsKey("certfile") && q.containsKey("keyfile")) {
        b.keyManager(new java.io.File(q.get("certfile")), new java.io.File(q.get("keyfile")));
      }
      return b.build();
    } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
      throw new IllegalStateException("broker " + broker.name() + ": cannot read the TLS files of its URI for the stream "
          + "client (cacertfile, certfile, keyfile): " + e.getMessage(), e);
    }
  }

  @Override
  public void connect() {
    synchronized (lock) {
      if (closing || cancelled || connected()) {
        return;
      }
      try {
        if (environment == null) {
          var builder = Environment.builder().uris(streamUris(broker)).id("iotpipe-" + group);
          if (tls(broker)) {
            builder = builder.tls().sslContext(sslContext(broker)).environmentBuilder();
          }
          environment = builder.build();
          connections++;
          io.iotpipe.runtime.Startup.mark(group + ": connected (streams)");
        }
        for (String s : streams) {
          if (!consumers.containsKey(s)) {
            consumers.put(s, subscribe(s));
          }
        }
        io.iotpipe.runtime.Startup.mark(group + ": subscribed " + streams.size() + " streams");
        if (attempt > 0) {
          LOG.info("{}: reading {} partition streams of {} again", group, streams.size(), broker.name());
        }
        attempt = 0;
        lastError = null;
        disconnectedSince = 0;
      } catch (RuntimeException e) {
        lastError = describe(e);
        Duration delay = backoff.delay(++attempt);
        if (attempt == 1 || attempt % 10 == 0) {
          LOG.warn("{}: cannot read the partition streams of broker {} ({}); retrying in {} ms (attempt {})", group,
              broker.name(), lastError, delay.toMillis(), attempt);
        }
        if (disconnectedSince == 0) {
          disconnectedSince = System.currentTimeMillis();
        }
        if (!closing) {
          scheduler.schedule(this::connect, delay.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }
  }

  private String describe(RuntimeException e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    if (m.contains("STREAM_DOES_NOT_EXIST") || m.contains("does not exist")) {
      return m + ": run `iotpipe topology apply` with topology.layout: streams first?";
    }
    if (e.getCause() instanceof java.net.ConnectException || m.contains("Connection refused")) {
      return m + ": is the rabbitmq_stream plugin enabled, and brokers." + broker.name() + ".streamUris (default: the "
          + "hosts of uris on port " + BrokerConfig.STREAM_PORT + ") where it listens?";
    }
    return m;
  }

  private Consumer subscribe(String stream) {
    AtomicReference<StreamPartition> current = active.get(stream);
    Progress fresh = progress.computeIfAbsent(stream, k -> new Progress());
    fresh.at = System.nanoTime();
    fresh.committedSeen = -1;
    return environment.consumerBuilder()
        .stream(stream)
        .name(group)
        .singleActiveConsumer()
        .manualTrackingStrategy().builder()
        .flow().strategy(ConsumerFlowStrategy.creditWhenHalfMessagesProcessed(CHUNK_CREDITS)).builder()
        .consumerUpdateListener(ctx -> {
          StreamPartition previous = current.getAndSet(null);
          if (previous != null) {
            previous.kill();
            listener.closed(previous);
          }
          if (!ctx.isActive()) {
            return OffsetSpecification.next(); // ignored for an inactive consumer
          }
          StreamPartition p = new StreamPartition(stream, ctx.consumer()::store, prefetch);
          // The sink hears of the partition before its first record can arrive.
          listener.opened(p);
          current.set(p);
          try {
            return OffsetSpecification.offset(storedPosition(stream) + 1);
          } catch (NoOffsetException first) {
            // A group that never stored a position reads the stream from its start: readings routed before the
            // group's first instance started are its readings too.
            return OffsetSpecification.first();
          }
        })
        .messageHandler((ctx, message) -> {
          StreamPartition p = current.get();
          if (p == null || cancelled) {
            // Not the reader (any more), or stopping: the next reader reads it from the stored position. Its credit
            // is returned all the same: the client grants chunks only as messages are processed, so records dropped
            // here without it (e.g. between the updates of a resubscription) would wedge the partition for good.
            ctx.processed();
            return;
          }
          Progress pr = progress.get(stream);
          if (pr != null) {
            pr.offset = ctx.offset();
            pr.at = System.nanoTime();
          }
          p.track(ctx.offset(), ctx);
          Map<String, Object> annotations = message.getMessageAnnotations() == null ? Map.of() : message.getMessageAnnotations();
          listener.delivered(p, ctx.offset(), text(annotations.get("x-exchange")), text(annotations.get("x-routing-key")),
              properties(message, annotations), message.getBodyAsBinary());
        })
        .build();
  }

  /**
   * No silent stall, on a partition this instance reads: after a stream's leader failed over, the stream client's own
   * recovery was seen to resubscribe a single active consumer that then never received anything again while the stream
   * kept growing ({@code StreamLeaderKillCheck}, RabbitMQ 4.0.5). A partition this instance reads (it is the group's
   * active reader), with nothing unsettled, that received nothing for {@link #STALL_AFTER} while its stream grew (its
   * last committed chunk moved on, beyond what it received), is closed and subscribed again: the broker then elects a
   * reader afresh, which resumes after the stored position (what was received and not settled is read again; the
   * sinks absorb it).
   *
   * <p>And on a partition it does not read: RabbitMQ's single-active-consumer coordinator can lose a group's reader
   * when a node goes down (it may activate a consumer whose connection is gone, or tell a live one too late; fixed in
   * later 4.x releases, rabbitmq-server#13657 and #13671), and then every instance waits as inactive while nobody
   * reads. The broker has no call that says who is active, so each inactive instance watches the group's stored
   * position: when it has not moved for {@link #GROUP_STALL_AFTER} while the stream grew, the instance leaves the group
   * and joins it again, which makes the coordinator evaluate the group afresh. A healthy reader is not disturbed by
   * that (an inactive member comes and goes); since a reader that holds records longer (a store's roll age at low
   * traffic) looks the same from outside, the wait doubles after each try that did not get the position moving.
   */
  private void watch() {
    if (closing || cancelled || environment == null) {
      return;
    }
    for (String s : streams) {
      StreamPartition p = active.get(s).get();
      long committed;
      try {
        committed = environment.queryStreamStats(s).committedChunkId();
      } catch (RuntimeException e) {
        continue; // empty or unreachable: nothing to say about a stall
      }
      if (p == null) {
        watchGroup(s, committed);
        continue;
      }
      groupWatch.remove(s);
      Progress pr = progress.get(s);
      if (pr == null) {
        continue;
      }
      // Stalled only if the stream grew while this partition sat idle: stored positions are chunks of the stream
      // too, so "beyond what was received" alone would hold on every idle pipeline once its position is stored.
      if (!p.idle() || System.nanoTime() - pr.at < STALL_AFTER.toNanos() || pr.committedSeen < 0) {
        pr.committedSeen = committed;
        continue;
      }
      if (committed <= pr.committedSeen || committed <= pr.offset) {
        continue;
      }
      resubscribe(s, s + ": nothing received for " + (System.nanoTime() - pr.at) / 1_000_000_000L + " s while the stream "
          + "holds records up to chunk " + committed + " (last received " + pr.offset + "): subscribing again", true);
    }
  }

  /** See {@link #watch()}: a partition another instance should be reading. */
  private void watchGroup(String s, long committed) {
    long position;
    try {
      position = storedPosition(s);
    } catch (NoOffsetException none) {
      position = -1;
    } catch (RuntimeException e) {
      return; // cannot tell
    }
    long now = System.nanoTime();
    GroupWatch w = groupWatch.computeIfAbsent(s, k -> new GroupWatch());
    if (w.since == 0 || position != w.position) {
      if (w.since != 0 && position != w.position) {
        w.patience = GROUP_STALL_AFTER;
      }
      w.position = position;
      w.since = now;
      w.committedSeen = committed;
      return;
    }
    if (now - w.since < w.patience.toNanos() || committed <= w.committedSeen) {
      return;
    }
    String why = s + ": the group's position (" + position + ") has not moved for " + (now - w.since) / 1_000_000_000L
        + " s while the stream grew to chunk " + committed + ", and this instance is not its reader: joining the group "
        + "again so that the broker elects a reader";
    w.since = now;
    w.committedSeen = committed;
    w.patience = w.patience.multipliedBy(2).compareTo(GROUP_STALL_MAX) > 0 ? GROUP_STALL_MAX : w.patience.multipliedBy(2);
    resubscribe(s, why, false);
  }

  /** Closes this instance's consumer of {@code s} and subscribes it again. */
  private void resubscribe(String s, String why, boolean reading) {
    if (reading) {
      lastError = why;
      LOG.warn("{}: {}", group, why);
    } else {
      LOG.info("{}: {}", group, why);
    }
    synchronized (lock) {
      if (closing || cancelled) {
        return;
      }
      Consumer old = consumers.remove(s);
      if (old != null) {
        try {
          old.close();
        } catch (RuntimeException ignored) {
          // already broken: the broker drops its registration with the connection
        }
      }
      try {
        consumers.put(s, subscribe(s));
        resubscriptions++;
      } catch (RuntimeException e) {
        lastError = describe(e);
        scheduler.schedule(this::connect, backoff.delay(1).toMillis(), TimeUnit.MILLISECONDS);
      }
    }
  }

  /**
   * The group's stored position on {@code stream}, asked on a connection of its own: the consumer's
   * {@code storedOffset()} asks on the connection whose frame thread runs this activation, and after a leader
   * failover that is the same connection — its answer then waits behind the blocked thread until the request times
   * out (10 s) and the partition was never read again (seen with a 3-node cluster's leader killed). Tries every node.
   */
  private long storedPosition(String stream) {
    RuntimeException last = null;
    for (int i = 0; i < nodes.size(); i++) {
      com.rabbitmq.stream.impl.Client c;
      synchronized (offsets) {
        if (offsetClient == null || !offsetClient.isOpen()) {
          String[] hp = nodes.get((offsetNode + i) % nodes.size()).split(":");
          try {
            offsetClient = new com.rabbitmq.stream.impl.Client(new com.rabbitmq.stream.impl.Client.ClientParameters()
                .host(hp[0]).port(Integer.parseInt(hp[1])).username(broker.username())
                .password(broker.password().reveal() == null ? "" : broker.password().reveal())
                .virtualHost(broker.vhost()).clientProperty("connection_name", "iotpipe-" + group + "-positions")
                .sslContext(tls(broker) ? sslContext(broker) : null));
            offsetNode = (offsetNode + i) % nodes.size();
          } catch (RuntimeException e) {
            last = e;
            continue;
          }
        }
        c = offsetClient;
      }
      try {
        var r = c.queryOffset(group, stream);
        if (r.isOk()) {
          return r.getOffset();
        }
        if (r.getResponseCode() == com.rabbitmq.stream.Constants.RESPONSE_CODE_NO_OFFSET) {
          throw new NoOffsetException("no position stored for " + group + " on " + stream);
        }
        last = new IllegalStateException("querying the position of " + group + " on " + stream + " answered code " + r.getResponseCode());
      } catch (NoOffsetException e) {
        throw e;
      } catch (RuntimeException e) {
        last = e;
      }
      synchronized (offsets) {
        if (offsetClient == c) {
          c.close();
          offsetClient = null;
          offsetNode = (offsetNode + 1) % nodes.size();
        }
      }
    }
    throw new IllegalStateException("cannot read the stored position of " + group + " on " + stream + ": " + last, last);
  }

  private static String text(Object o) {
    return o == null ? null : o.toString();
  }

  /**
   * The AMQP 0-9-1 properties of a reading the shovel published and the stream converted to AMQP 1.0: headers come
   * back as application properties (and {@code x-} headers as message annotations), the timestamp as creation time.
   * Intake reads them as for a queue; the dead-letter path copies them.
   */
  static AMQP.BasicProperties properties(Message m, Map<String, Object> annotations) {
    Map<String, Object> headers = new HashMap<>();
    if (m.getApplicationProperties() != null) {
      m.getApplicationProperties().forEach((k, v) -> headers.put(k, headerValue(v)));
    }
    annotations.forEach((k, v) -> {
      if (k.startsWith("x-") && !ROUTING_ANNOTATIONS.contains(k) && !k.startsWith("x-stream") && !k.startsWith("x-opt-")) {
        headers.putIfAbsent(k, headerValue(v));
      }
    });
    AMQP.BasicProperties.Builder b = new AMQP.BasicProperties.Builder().deliveryMode(2).headers(headers);
    com.rabbitmq.stream.Properties p = m.getProperties();
    if (p != null) {
      if (p.getCreationTime() > 0) {
        b.timestamp(new Date(p.getCreationTime()));
      }
      b.contentType(p.getContentType());
      if (p.getUserId() != null) {
        // Validated by the broker against the publisher's user: sinks trust batches only from the forwarder's.
        b.userId(new String(p.getUserId(), java.nio.charset.StandardCharsets.UTF_8));
      }
      if (p.getMessageId() != null) {
        b.messageId(p.getMessageId().toString());
      }
    }
    return b.build();
  }

  /** Values AMQP 0-9-1 headers can carry as they are; anything else (AMQP 1.0's unsigned and symbol types) as text. */
  private static Object headerValue(Object v) {
    return v == null || v instanceof String || v instanceof Long || v instanceof Integer || v instanceof Boolean
        || v instanceof byte[] || v instanceof Double || v instanceof Float || v instanceof Short || v instanceof Byte
        || v instanceof Date || v instanceof java.math.BigDecimal ? v : v.toString();
  }

  @Override
  public CompletionStage<Void> publish(String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
    ConfirmingPublisher publisher;
    synchronized (lock) {
      try {
        if (deadLetterConnection == null || !deadLetterConnection.isOpen()) {
          if (deadLetters != null) {
            deadLetters.close();
          }
          deadLetterConnection = Amqp.factory(broker).newConnection(Amqp.addresses(broker, true), "iotpipe-" + group + "-dead-letters");
          deadLetters = new ConfirmingPublisher(deadLetterConnection.createChannel(), 1000);
        }
      } catch (IOException | TimeoutException | RuntimeException e) {
        return CompletableFuture.failedFuture(new IOException("cannot reach broker " + broker.name() + " to dead-letter: " + e.getMessage(), e));
      }
      publisher = deadLetters;
    }
    try {
      return publisher.publish(exchange, routingKey, props, body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Lock-free, as {@link Supervisor#connected()}: /health must answer while a connection attempt holds the lock. */
  @Override
  public boolean connected() {
    return environment != null && consumers.size() == streams.size();
  }

  @Override
  public long disconnectedSince() {
    return connected() ? 0 : Math.max(disconnectedSince, 1);
  }

  @Override
  public String lastError() {
    return lastError;
  }

  @Override
  public long connections() {
    // a stalled partition subscribed again counts as a reconnect in the consumer's stats
    return connections + resubscriptions;
  }

  /** Positions of the partitions this instance reads now (stream -> highest stored offset, -1 before any). */
  Map<String, Long> positions() {
    Map<String, Long> out = new LinkedHashMap<>();
    active.forEach((s, ref) -> {
      StreamPartition p = ref.get();
      if (p != null) {
        out.put(s, p.stored());
      }
    });
    return out;
  }

  @Override
  public void cancel() {
    cancelled = true;
  }

  @Override
  public void close() {
    synchronized (lock) {
      closing = true;
      cancelled = true;
      // Closing the consumers hands their partitions to another instance of the group, which starts at the stored
      // position: everything settled here was stored as it was settled.
      consumers.values().forEach(c -> {
        try {
          c.close();
        } catch (RuntimeException ignored) {
          // already gone with its connection
        }
      });
      consumers.clear();
      active.values().forEach(ref -> {
        StreamPartition p = ref.getAndSet(null);
        if (p != null) {
          p.kill();
          listener.closed(p);
        }
      });
      if (environment != null) {
        environment.close();
      }
      synchronized (offsets) {
        if (offsetClient != null) {
          offsetClient.close();
        }
      }
      if (deadLetters != null) {
        deadLetters.close();
      }
      if (deadLetterConnection != null && deadLetterConnection.isOpen()) {
        try {
          deadLetterConnection.close(5_000);
        } catch (IOException | RuntimeException ignored) {
          // closing anyway
        }
      }
    }
  }
}
