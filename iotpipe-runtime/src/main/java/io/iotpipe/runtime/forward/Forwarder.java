package io.iotpipe.runtime.forward;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.core.config.TopologyConfig;
import io.iotpipe.core.envelope.ReadingBatch;
import io.iotpipe.core.retry.Backoff;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import io.iotpipe.runtime.HealthServer;
import io.iotpipe.sink.SinkHealth;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge forwarder of {@code topology.wan.mode: batch} ({@code iotpipe forward}): consumes an edge's outbound
 * buffer, groups readings per cloud partition ({@link PartitionBatches}) and publishes each batch as one message
 * ({@link ReadingBatch}) to the cloud's batch exchange with publisher confirms. An edge delivery is acked only after
 * the cloud confirmed the batch holding it ({@link EdgeAcks}); when either side fails, both connections are closed —
 * the edge requeues everything unacked, in order — and the forwarder reconnects after a backoff. A batch whose
 * confirm was lost is sent again: the sinks' {@code (deviceId, seq)} idempotence absorbs it, as with the shovel.
 *
 * <p>Identity: each entry carries the routing key the edge broker accepted from the device (topic permissions bind
 * it to the device's own {@code telemetry.<id>}); the forwarder reads nothing inside a reading and trusts nothing
 * a device sent, not even a body that looks like a batch (it travels as one opaque reading and fails the sinks'
 * contract). The cloud validates the batch's {@code user_id} against the forwarder's login; sinks trust only that
 * user ({@code IotpipeConfig.batchPublisher}).
 */
public final class Forwarder implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);
  /** Not forwarding for this long makes the forwarder DOWN (see {@link #health()}). */
  static final java.time.Duration DOWN_AFTER = java.time.Duration.ofMinutes(5);
  /** Header the simulator and devices may set with the publish time in epoch millis (see the sinks' Intake). */
  static final String PUBLISHED_AT_HEADER = "x-published-at";

  private final BrokerConfig edge;
  private final BrokerConfig cloud;
  private final Names names;
  private final TopologyConfig.Wan wan;
  private final int partitions;
  private final Backoff backoff = new Backoff(java.time.Duration.ofMillis(500), java.time.Duration.ofSeconds(10));
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "iotpipe-forward");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong readings = new AtomicLong();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong acked = new AtomicLong();
  /** Sessions lost to a failure (each followed by a reconnect). */
  private final AtomicLong losses = new AtomicLong();
  private volatile Session session;
  /** The latest failure, kept after a reconnect (stats say whether it is connected now). */
  private volatile String lastError;
  private volatile boolean closed;
  private int attempt;
  /** Epoch millis since when no session forwards, 0 while one does. */
  private volatile long disconnectedSince = System.currentTimeMillis();

  /** What {@link #stats()} reports. */
  public record Stats(long readingsConfirmed, long batchesConfirmed, long edgeAcked, int unacked, boolean connected,
                      long reconnects, String lastError) {}

  /**
   * @param edge  the edge broker, logged in as the forwarder
   * @param cloud the balancer, logged in as the forwarder (the batches' {@code user_id})
   */
  public Forwarder(BrokerConfig edge, BrokerConfig cloud, Names names, TopologyConfig.Wan wan, int partitions) {
    this.edge = edge;
    this.cloud = cloud;
    this.names = names;
    this.wan = wan;
    this.partitions = partitions;
  }

  /**
   * The forwarder of {@code edgeName} as {@code cfg} describes it: with {@code security:}, both brokers are reached
   * as the forwarder's own account (its password file under {@code security.passwords}, written by
   * {@code topology apply}); without, with each broker's configured user.
   */
  public static Forwarder of(IotpipeConfig cfg, String edgeName) {
    TopologyConfig t = cfg.topology();
    if (!t.wan().batches()) {
      throw new IllegalArgumentException("topology.wan.mode is " + t.wan().mode().name().toLowerCase()
          + ": the edges ship through the shovel; set topology.wan.mode: batch (and re-apply the topology) to forward batches");
    }
    if (!t.edges().contains(edgeName)) {
      throw new IllegalArgumentException("--edge: " + edgeName + " is not one of topology.edges " + t.edges());
    }
    BrokerConfig e = cfg.broker(edgeName);
    BrokerConfig c = cfg.broker(t.balancer());
    if (cfg.security().declared()) {
      String account = t.names().forwarderAccount();
      java.nio.file.Path file = cfg.security().passwordFile(account);
      if (!java.nio.file.Files.isRegularFile(file)) {
        throw new IllegalArgumentException("no password for the forwarder account at " + file.toAbsolutePath()
            + ": run `iotpipe topology apply` with this config first (it creates the account and its password file)");
      }
      Secret pw = new Secret(file.toString(), SecretFiles.read(file));
      e = new BrokerConfig(e.name(), ownCertificate(cfg, e.uris(), account), e.management(), account, pw, e.region(), e.streamUris());
      c = new BrokerConfig(c.name(), ownCertificate(cfg, c.uris(), account), c.management(), account, pw, c.region(), c.streamUris());
    }
    return new Forwarder(e, c, t.names(), t.wan(), t.partitions());
  }

  /**
   * {@code uris} presenting the forwarder account's client certificate where they carry one ({@code certfile}), like
   * the shovels: the forwarder runs at the edge and must not hold the administrator's key.
   */
  private static List<java.net.URI> ownCertificate(IotpipeConfig cfg, List<java.net.URI> uris, String account) {
    List<java.net.URI> out = new java.util.ArrayList<>();
    for (java.net.URI u : uris) {
      String q = u.getRawQuery();
      if (q == null || !q.contains("certfile=")) {
        out.add(u);
        continue;
      }
      java.nio.file.Path[] certAndKey = cfg.security().certificate(account);
      if (!java.nio.file.Files.isRegularFile(certAndKey[0]) || !java.nio.file.Files.isRegularFile(certAndKey[1])) {
        throw new IllegalArgumentException("security.certificates: no client certificate and key for the forwarder account at "
            + certAndKey[0].toAbsolutePath() + " / " + certAndKey[1].getFileName() + ": issue them (iotpipe pki issue "
            + account + ") or point security.certificates at the directory that holds them");
      }
      out.add(java.net.URI.create(u.getScheme() + "://" + u.getRawAuthority() + u.getRawPath() + "?"
          + io.iotpipe.core.tls.PemTls.withClientCertificate(q, certAndKey)));
    }
    return out;
  }

  /** Starts forwarding; returns after the first connection attempt (later ones run in the background). */
  public Forwarder start() {
    scheduler.execute(this::connect);
    long tick = Math.max(1, Math.min(wan.linger().toMillis() / 2, 100));
    scheduler.scheduleWithFixedDelay(this::flushDue, tick, tick, TimeUnit.MILLISECONDS);
    return this;
  }

  private void connect() {
    if (closed || session != null) {
      return;
    }
    try {
      session = new Session();
      attempt = 0;
      disconnectedSince = 0;
      LOG.info("forwarding {} from {} to {} ({} partitions, linger {}, up to {} readings / {} bytes a batch)",
          names.edgeOutbound(), edge.name(), cloud.name(), partitions, wan.linger(), wan.maxReadings(), wan.maxBytes());
    } catch (IOException | RuntimeException e) {
      lastError = e.getMessage();
      long delay = backoff.delay(++attempt).toMillis();
      LOG.warn("forwarder: {}; retrying in {} ms", lastError, delay);
      scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }
  }

  private void flushDue() {
    Session s = session;
    if (s != null) {
      s.flushDue();
    }
  }

  /** One edge connection and one cloud connection; on any failure both close and a new session starts. */
  private final class Session {
    final Connection edgeConn;
    final Connection cloudConn;
    final Channel edgeCh;
    final ConfirmingPublisher publisher;
    final PartitionBatches open = new PartitionBatches(partitions, wan.linger(), wan.maxReadings(), wan.maxBytes());
    final EdgeAcks acks = new EdgeAcks();
    /**
     * Held while batches close and are published, so a partition's batches reach the cloud in the order they
     * closed (the edge's dispatch thread and the linger timer both close batches). Not the session's monitor:
     * a publish may wait for confirms, which must still be able to fail the session meanwhile.
     */
    private final Object sendLock = new Object();
    volatile boolean dead;

    Session() throws IOException {
      Connection ec = null;
      Connection cc = null;
      try {
        cc = Amqp.connect(cloud, "iotpipe-forward-" + edge.name());
        ec = Amqp.connect(edge, "iotpipe-forward");
        publisher = new ConfirmingPublisher(cc.createChannel(), 64);
        edgeCh = ec.createChannel();
        // Enough unacked edge messages for a full batch in every partition, twice over (one lingering, one confirming).
        edgeCh.basicQos((int) Math.min(65_535, 2L * wan.maxReadings() * partitions));
        edgeConn = ec;
        cloudConn = cc;
        ec.addShutdownListener(this::lost);
        cc.addShutdownListener(this::lost);
        edgeCh.addShutdownListener(this::lost);
        edgeCh.basicConsume(names.edgeOutbound(), false, "iotpipe-forward", new DefaultConsumer(edgeCh) {
          @Override
          public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
            take(env, props, body);
          }
        });
      } catch (IOException | RuntimeException e) {
        closeQuietly(ec);
        closeQuietly(cc);
        if (e instanceof IOException io) {
          throw new IOException(io.getMessage() + " (queue " + names.edgeOutbound() + " on " + edge.name()
              + ", batch exchange " + names.batchExchange() + " on " + cloud.name()
              + "): is the topology applied with topology.wan.mode: batch?", io);
        }
        throw e;
      }
    }

    void take(Envelope env, AMQP.BasicProperties props, byte[] body) {
      acks.delivered(env.getDeliveryTag());
      ReadingBatch.Entry e = new ReadingBatch.Entry(env.getRoutingKey(), publishedAt(props), body);
      synchronized (sendLock) {
        open.add(e, env.getDeliveryTag(), System.nanoTime()).forEach(this::publish);
      }
    }

    void flushDue() {
      synchronized (sendLock) {
        open.due(System.nanoTime()).forEach(this::publish);
      }
    }

    /**
     * Publishes one batch; on the cloud's confirm its edge deliveries become ackable. Batches of one partition are
     * published in the order they closed, on one channel, so a device's readings stay in order.
     */
    void publish(PartitionBatches.Closed b) {
      if (dead) {
        return; // the edge has requeued them
      }
      AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
          .contentType(ReadingBatch.CONTENT_TYPE)
          .deliveryMode(2)
          // RabbitMQ refuses the publish unless this is the connection's user: the sinks' proof of who batched.
          .userId(cloud.username())
          .headers(Map.of("x-iotpipe-readings", b.entries().size()))
          .build();
      try {
        publisher.publish(names.batchExchange(), names.partitionKey(b.partition()), props, ReadingBatch.encode(b.entries()))
            .whenComplete((ok, err) -> {
              if (err != null) {
                lost("cloud did not confirm a batch of " + b.entries().size() + " readings: " + err.getMessage());
              } else {
                confirmed(b);
              }
            });
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        lost("interrupted while publishing");
      }
    }

    void confirmed(PartitionBatches.Closed b) {
      readings.addAndGet(b.entries().size());
      batches.incrementAndGet();
      long upTo = acks.confirmed(b.edgeTags());
      if (upTo > 0 && !dead) {
        try {
          edgeCh.basicAck(upTo, true);
          acked.set(upTo);
        } catch (IOException | RuntimeException e) {
          lost("edge ack failed: " + e.getMessage());
        }
      }
    }

    void lost(ShutdownSignalException cause) {
      if (!cause.isInitiatedByApplication()) {
        lost("connection lost: " + cause.getMessage());
      }
    }

    void lost(String why) {
      synchronized (this) {
        if (dead) {
          return;
        }
        dead = true;
      }
      lastError = why;
      disconnectedSince = System.currentTimeMillis();
      losses.incrementAndGet();
      LOG.warn("forwarder: {}; closing both sides (the edge requeues every unacked reading) and reconnecting", why);
      // Off the client's threads: closing a connection from its own listener would wait on itself.
      scheduler.execute(() -> {
        shutdown();
        if (session == this) {
          session = null;
        }
        long delay = backoff.delay(++attempt).toMillis();
        scheduler.schedule(Forwarder.this::connect, delay, TimeUnit.MILLISECONDS);
      });
    }

    /** Closes the edge first: what it held unacked goes back to the buffer, in order, before the cloud side goes. */
    void shutdown() {
      dead = true;
      closeQuietly(edgeConn);
      publisher.close();
      closeQuietly(cloudConn);
    }

    /** Graceful stop: no new readings, every open batch sent and confirmed (bounded), acks sent, then close. */
    void drain(long timeoutMillis) {
      try {
        edgeCh.basicCancel("iotpipe-forward");
      } catch (IOException | RuntimeException ignored) {
        // the channel is gone: its readings are requeued anyway
      }
      synchronized (sendLock) {
        open.all().forEach(this::publish);
      }
      long deadline = System.currentTimeMillis() + timeoutMillis;
      while (acks.unacked() > 0 && !dead && System.currentTimeMillis() < deadline) {
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
      }
      shutdown();
    }
  }

  static long publishedAt(AMQP.BasicProperties props) {
    Object h = props.getHeaders() == null ? null : props.getHeaders().get(PUBLISHED_AT_HEADER);
    if (h instanceof Number n) {
      return n.longValue();
    }
    return props.getTimestamp() != null ? props.getTimestamp().getTime() : 0;
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close(5_000);
      } catch (IOException | RuntimeException ignored) {
        // already closed or unreachable: the broker requeues what was unacked
      }
    }
  }

  public Stats stats() {
    Session s = session;
    return new Stats(readings.get(), batches.get(), acked.get(), s == null ? 0 : s.acks.unacked(), s != null && !s.dead,
        losses.get(), lastError);
  }

  /**
   * UP while a session forwards; DEGRADED while reconnecting (the edge buffers, nothing is lost); DOWN once no session
   * has forwarded for {@link #DOWN_AFTER}: the edge buffer is filling towards its bound, an operator must look.
   */
  public SinkHealth health() {
    long since = disconnectedSince;
    if (since == 0 && session != null) {
      return SinkHealth.UP;
    }
    long ms = System.currentTimeMillis() - Math.max(since, 1);
    String why = "not forwarding from " + edge.name() + " to " + cloud.name() + " for " + ms / 1000 + " s: "
        + (lastError == null ? "connecting" : lastError);
    return ms >= DOWN_AFTER.toMillis() ? SinkHealth.down(why) : SinkHealth.degraded(why);
  }

  /** What {@code /health} reports of this forwarder. */
  public HealthServer.Part healthPart() {
    Stats s = stats();
    return new HealthServer.Part(health(), Map.of("connected", s.connected(), "readingsConfirmed", s.readingsConfirmed(),
        "batchesConfirmed", s.batchesConfirmed(), "unacked", s.unacked(), "reconnects", s.reconnects()));
  }

  /** Counters and gauges of this forwarder, for /metrics. */
  public void bindTo(MeterRegistry registry) {
    FunctionCounter.builder("iotpipe.forward.readings", readings, AtomicLong::get)
        .description("readings the cloud confirmed (their edge messages acked)").register(registry);
    FunctionCounter.builder("iotpipe.forward.batches", batches, AtomicLong::get)
        .description("batch messages the cloud confirmed").register(registry);
    FunctionCounter.builder("iotpipe.forward.reconnects", losses, AtomicLong::get)
        .description("sessions lost to a failure and started again").register(registry);
    Gauge.builder("iotpipe.forward.unacked", this, f -> f.stats().unacked())
        .description("edge readings held: in an open batch or waiting for the cloud's confirm").register(registry);
    Gauge.builder("iotpipe.forward.connected", this, f -> f.stats().connected() ? 1 : 0)
        .description("1 while a session forwards").register(registry);
  }

  /** Stops taking readings, sends and confirms what is open (up to 10 s), acks it, then closes. */
  @Override
  public void close() {
    closed = true;
    Session s = session;
    if (s != null) {
      s.drain(10_000);
    }
    scheduler.shutdownNow();
  }
}
