package io.iotpipe.simulator;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Address;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.impl.nio.NioParams;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.tls.PemTls;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.rabbitmq.ConfirmingPublisher;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Devices as real devices connect: each its own AMQP connection over TLS, authenticated by its own client
 * certificate (SASL EXTERNAL; the broker takes the CN as the user), publishing only {@code telemetry.<its id>}.
 *
 * <p>Without a thread per device: one connection factory in NIO mode multiplexes every device's socket over
 * {@link #IO_THREADS} threads, picks each connection's TLS context by its name (= the device id) through
 * {@code SslContextFactory}, and shares one heartbeat scheduler. What a device costs is then a socket and its TLS
 * state on both sides (about 100-200 KB on the broker), not a thread.
 */
final class DeviceTlsAmqpTransport implements Transport {

  static final int IO_THREADS = 2;
  /** The device whose connection this thread is opening (password login; see the constructor). */
  private static final ThreadLocal<String> CONNECTING = new ThreadLocal<>();
  /** TLS handshakes in parallel while the fleet connects. */
  static final int CONNECT_PARALLELISM = 16;

  private final ConnectionFactory factory;
  private final List<Address> addresses;
  private final String exchange;
  private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("sim-heartbeat").factory());
  private final ExecutorService nio = Executors.newFixedThreadPool(IO_THREADS + 1, Thread.ofPlatform().daemon().name("sim-nio-", 0).factory());
  private final Map<String, Link> links = new ConcurrentHashMap<>();
  private final boolean passwords;

  private static final class Link {
    Connection connection;
    ConfirmingPublisher publisher;
    long reconnectNotBefore;
  }

  DeviceTlsAmqpTransport(BrokerConfig edge, String exchange, DeviceCredentials creds, List<String> deviceIds,
                         Consumer<String> progress) {
    this.exchange = exchange;
    this.passwords = creds.usesPasswords();
    this.addresses = Amqp.addresses(edge, false);
    ConnectionFactory f = new ConnectionFactory();
    f.setVirtualHost(edge.vhost());
    f.setAutomaticRecoveryEnabled(false);
    f.setTopologyRecoveryEnabled(false);
    f.setRequestedHeartbeat(30);
    f.setConnectionTimeout(10_000);
    f.setHandshakeTimeout(20_000);
    f.useNio();
    f.setNioParams(new NioParams().setNbIoThreads(IO_THREADS).setNioExecutor(nio));
    if (creds.usesPasswords()) {
      f.setSaslConfig(DefaultSaslConfig.PLAIN);
      // One factory serves every device (it owns the shared NIO threads), but its credentials provider has no
      // per-connection argument: the login of the device connecting is handed over in a thread-local, which works
      // because the client runs the AMQP handshake on the thread calling newConnection.
      f.setCredentialsProvider(new com.rabbitmq.client.impl.CredentialsProvider() {
        @Override
        public String getUsername() {
          return CONNECTING.get();
        }

        @Override
        public String getPassword() {
          return creds.password(CONNECTING.get());
        }
      });
      javax.net.ssl.SSLContext trustOnly = PemTls.context(creds.caFile(), null, null);
      f.setSslContextFactory(name -> trustOnly);
    } else {
      f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
      // The connection name is the device id: it selects the device's own certificate and key.
      f.setSslContextFactory(name -> PemTls.context(creds.caFile(), creds.cert(name), creds.key(name)));
    }
    f.enableHostnameVerification();
    f.setHeartbeatExecutor(heartbeats);
    this.factory = f;
    connectAll(deviceIds, progress);
  }

  private void connectAll(List<String> ids, Consumer<String> progress) {
    Semaphore gate = new Semaphore(CONNECT_PARALLELISM);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    try (ExecutorService vt = Executors.newVirtualThreadPerTaskExecutor()) {
      for (String id : ids) {
        all.add(CompletableFuture.runAsync(() -> {
          gate.acquireUninterruptibly();
          try {
            Link l = new Link();
            open(id, l);
            links.put(id, l);
            int n = done.incrementAndGet();
            if (progress != null && (n % 100 == 0 || n == ids.size())) {
              progress.accept("devices connected over TLS: " + n + "/" + ids.size());
            }
          } finally {
            gate.release();
          }
        }, vt));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    } catch (java.util.concurrent.CompletionException e) {
      close();
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  private void open(String id, Link l) {
    try {
      CONNECTING.set(id);
      try {
        l.connection = factory.newConnection(addresses, id);
      } finally {
        CONNECTING.remove();
      }
      l.publisher = new ConfirmingPublisher(l.connection.createChannel(), 16);
    } catch (IOException | TimeoutException | RuntimeException e) {
      String cause = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
      throw new IllegalStateException("device " + id + " cannot connect to the edge with its " + (passwords ? "password" : "certificate") + " (" + cause
          + "): is it enrolled (iotpipe device enroll " + id + ") and does the edge run with TLS?", e);
    }
  }

  @Override
  public CompletableFuture<Void> send(Telemetry t, byte[] body) {
    Link l = links.get(t.deviceId());
    if (l == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("device " + t.deviceId() + " has no connection (not in the fleet list)"));
    }
    try {
      synchronized (l) {
        if (l.connection == null || !l.connection.isOpen()) {
          if (System.currentTimeMillis() < l.reconnectNotBefore) {
            return CompletableFuture.failedFuture(new IOException("device connection down, reconnecting"));
          }
          abort(l);
          try {
            open(t.deviceId(), l);
          } catch (RuntimeException e) {
            l.reconnectNotBefore = System.currentTimeMillis() + 1000;
            return CompletableFuture.failedFuture(e);
          }
        }
      }
      long now = System.currentTimeMillis();
      AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
          .contentType("application/json").deliveryMode(2).messageId(t.id()).timestamp(new Date(now))
          .appId("iotpipe-simulator").headers(Map.of(AmqpTransport.PUBLISHED_AT, now)).build();
      return l.publisher.publish(exchange, "telemetry." + t.deviceId(), props, body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(e);
    }
  }

  private static void abort(Link l) {
    if (l.publisher != null) {
      l.publisher.close();
    }
    if (l.connection != null) {
      try {
        l.connection.abort(2000);
      } catch (RuntimeException ignored) {
        // already dead
      }
    }
  }

  /** Open device connections (for tests and reports). */
  int openConnections() {
    return (int) links.values().stream().filter(l -> l.connection != null && l.connection.isOpen()).count();
  }

  @Override
  public void close() {
    links.values().parallelStream().forEach(DeviceTlsAmqpTransport::abort);
    links.clear();
    heartbeats.shutdownNow();
    nio.shutdownNow();
  }
}
