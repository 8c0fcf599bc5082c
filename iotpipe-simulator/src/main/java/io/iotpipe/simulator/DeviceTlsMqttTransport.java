package io.iotpipe.simulator;

import io.iotpipe.core.envelope.Telemetry;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * MQTT devices as real devices connect: each its own MQTT-over-TLS connection with its own client certificate (the
 * broker's {@code mqtt.ssl_cert_login} takes the CN as the user), client id = device id, QoS 1 on
 * {@code telemetry/<id>}. All connections share one Vert.x event loop pool ({@link #EVENT_LOOPS} threads), so a
 * fleet costs sockets, not threads.
 */
final class DeviceTlsMqttTransport implements Transport {

  static final int EVENT_LOOPS = 2;
  static final int CONNECT_PARALLELISM = 16;

  private final Vertx vertx;
  private final DeviceCredentials creds;
  private final io.vertx.core.net.TrustOptions trust;
  private final java.util.concurrent.atomic.LongAdder disconnects = new java.util.concurrent.atomic.LongAdder();
  /** Called on the device's event loop when a device connected (also after a reconnect). */
  volatile java.util.function.Consumer<String> onConnected;
  private final String host;
  private final int port;
  private final Map<String, Link> links = new ConcurrentHashMap<>();

  private static final class Link {
    final String id;
    MqttClient client;
    final Map<Integer, CompletableFuture<Void>> pending = new HashMap<>();
    final Set<Integer> earlyAcks = new HashSet<>();
    volatile boolean connecting;
    volatile io.vertx.core.Context context;

    Link(String id) {
      this.id = id;
    }
  }

  DeviceTlsMqttTransport(URI mqtt, DeviceCredentials creds, List<String> deviceIds, java.util.function.Consumer<String> progress) {
    this(mqtt, creds, EVENT_LOOPS);
    Connected c = connect(deviceIds, CONNECT_PARALLELISM, java.time.Duration.ofSeconds(120), progress);
    if (c.failed() > 0) {
      close();
      throw new IllegalStateException(c.firstError());
    }
  }

  /** An empty fleet on {@code eventLoops} shared I/O threads; devices join with {@link #connect}. */
  DeviceTlsMqttTransport(URI mqtt, DeviceCredentials creds, int eventLoops) {
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops).setWorkerPoolSize(1)
        // Its internal blocking pool reads the PEM files; by default it grows to 20 threads.
        .setInternalBlockingPoolSize(2));
    this.creds = creds;
    this.trust = trust(creds);
    this.host = mqtt.getHost();
    this.port = mqtt.getPort() > 0 ? mqtt.getPort() : 8883;
  }

  /**
   * What one {@link #connect} call did: devices asked for, connected, failed (refused, timed out), its wall time, and
   * the first failure's message (null when none).
   */
  record Connected(int requested, int connected, int failed, double seconds, String firstError) {}

  /**
   * Connects {@code deviceIds} (each its own TLS connection and certificate), at most {@code parallelism} handshakes
   * at a time; a device not connected within {@code timeout} of the call counts as failed. Never throws for a device
   * that cannot connect: the result says how many did not and why the first did not.
   */
  Connected connect(List<String> deviceIds, int parallelism, java.time.Duration timeout, java.util.function.Consumer<String> progress) {
    long t0 = System.nanoTime();
    long deadline = t0 + timeout.toNanos();
    Semaphore gate = new Semaphore(parallelism);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<String> firstError = new java.util.concurrent.atomic.AtomicReference<>();
    int step = Math.max(100, deviceIds.size() / 20);
    for (String id : deviceIds) {
      Link l = new Link(id);
      try {
        l.client = MqttClient.create(vertx, options(id, creds));
      } catch (IllegalStateException e) {
        firstError.compareAndSet(null, e.getMessage());
        all.add(CompletableFuture.failedFuture(e));
        continue;
      }
      l.client.publishCompletionHandler(pid -> settle(l, pid, null));
      l.client.publishCompletionExpirationHandler(pid -> settle(l, pid, new IOException("no PUBACK for packet " + pid)));
      l.client.closeHandler(v -> {
        disconnects.increment();
        failAll(l, "MQTT connection of " + id + " closed");
      });
      links.put(id, l);
      try {
        if (!gate.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          firstError.compareAndSet(null, "connecting " + deviceIds.size() + " devices took longer than " + timeout.toSeconds() + " s");
          break;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      CompletableFuture<Void> f = connect(id, l);
      f.whenComplete((v, e) -> {
        gate.release();
        if (e != null) {
          firstError.compareAndSet(null, e.getMessage());
        }
        int n = done.incrementAndGet();
        if (progress != null && (n % step == 0 || n == deviceIds.size())) {
          progress.accept("MQTT devices connected over TLS: " + n + "/" + deviceIds.size());
        }
      });
      all.add(f);
    }
    try {
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      firstError.compareAndSet(null, "connecting " + deviceIds.size() + " devices took longer than " + timeout.toSeconds() + " s");
    } catch (java.util.concurrent.ExecutionException e) {
      // counted per device below
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    int ok = (int) all.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
    return new Connected(deviceIds.size(), ok, deviceIds.size() - ok, (System.nanoTime() - t0) / 1e9, firstError.get());
  }

  /** The fleet CA as trust, built once and shared by every device's connection. */
  private static io.vertx.core.net.TrustOptions trust(DeviceCredentials creds) {
    try {
      java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (java.security.cert.X509Certificate c : io.iotpipe.core.tls.PemTls.certificates(creds.caFile())) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      return io.vertx.core.net.TrustOptions.wrap(tmf);
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot read the fleet CA " + creds.caFile() + ": " + e.getMessage(), e);
    }
  }

  private MqttClientOptions options(String id, DeviceCredentials creds) {
    MqttClientOptions o = new MqttClientOptions();
    o.setClientId(id);
    o.setCleanSession(true);
    o.setAutoKeepAlive(true);
    o.setKeepAliveInterval(30);
    o.setSsl(true);
    o.setHostnameVerificationAlgorithm("HTTPS");
    o.setTrustOptions(trust);
    String password = creds.password(id);
    if (password != null) {
      // A password device: TLS still verifies the server; the broker checks the password (no client certificate).
      o.setUsername(id);
      o.setPassword(password);
    } else {
      try {
        o.setKeyCertOptions(io.vertx.core.net.KeyCertOptions.wrap(new DeviceKeyManager(creds.cert(id), creds.key(id))));
      } catch (IOException | java.security.GeneralSecurityException e) {
        throw new IllegalStateException("cannot read the certificate or key of device " + id + " (" + e.getMessage()
            + "): enroll it first (iotpipe device enroll " + id + ")", e);
      }
    }
    return o;
  }

  private CompletableFuture<Void> connect(String id, Link l) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    l.connecting = true;
    l.client.connect(port, host).onComplete(ar -> {
      l.connecting = false;
      if (ar.succeeded()) {
        // On the connection's own event loop: whatever the hook schedules runs there too.
        l.context = Vertx.currentContext();
        if (onConnected != null) {
          onConnected.accept(id);
        }
        f.complete(null);
      } else {
        String cause = ar.cause().getMessage() != null ? ar.cause().getMessage() : ar.cause().getClass().getSimpleName();
        f.completeExceptionally(new IllegalStateException("device " + id + " cannot connect to the edge's MQTT TLS listener with its certificate ("
            + cause + "): is it enrolled (iotpipe device enroll " + id + ") and does the edge run with TLS?", ar.cause()));
      }
    });
    return f;
  }

  private static void settle(Link l, int packetId, Throwable error) {
    CompletableFuture<Void> f;
    synchronized (l) {
      f = l.pending.remove(packetId);
      if (f == null && error == null) {
        l.earlyAcks.add(packetId);
      }
    }
    if (f != null) {
      if (error == null) {
        f.complete(null);
      } else {
        f.completeExceptionally(error);
      }
    }
  }

  private static void failAll(Link l, String why) {
    List<CompletableFuture<Void>> fs;
    synchronized (l) {
      fs = new ArrayList<>(l.pending.values());
      l.pending.clear();
      l.earlyAcks.clear();
    }
    fs.forEach(f -> f.completeExceptionally(new IOException(why)));
  }

  @Override
  public CompletableFuture<Void> send(Telemetry t, byte[] body) {
    Link l = links.get(t.deviceId());
    if (l == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("device " + t.deviceId() + " is not in the fleet list"));
    }
    if (!l.client.isConnected()) {
      if (!l.connecting) {
        connect(t.deviceId(), l);
      }
      return CompletableFuture.failedFuture(new IOException("MQTT connection of " + t.deviceId() + " down, reconnecting"));
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    l.client.publish("telemetry/" + t.deviceId(), Buffer.buffer(body), MqttQoS.AT_LEAST_ONCE, false, false).onComplete(ar -> {
      if (ar.failed()) {
        f.completeExceptionally(ar.cause());
        return;
      }
      boolean acked;
      synchronized (l) {
        acked = l.earlyAcks.remove(ar.result());
        if (!acked) {
          l.pending.put(ar.result(), f);
        }
      }
      if (acked) {
        f.complete(null);
      }
    });
    return f;
  }

  boolean isConnected(String id) {
    Link l = links.get(id);
    return l != null && l.client.isConnected();
  }

  /** Runs {@code r} on the event loop of device {@code id}'s connection (where its client's handlers run). */
  void runOnDeviceLoop(String id, Runnable r) {
    Link l = links.get(id);
    if (l != null && l.context != null) {
      l.context.runOnContext(v -> r.run());
    }
  }

  Vertx vertx() {
    return vertx;
  }

  /** Connections that closed after they were up (broker closed them, network, keepalive). */
  long disconnects() {
    return disconnects.sum();
  }

  int connected() {
    return (int) links.values().stream().filter(l -> l.client.isConnected()).count();
  }

  @Override
  public void close() {
    for (Link l : links.values()) {
      if (l.client.isConnected()) {
        l.client.disconnect();
      }
    }
    links.clear();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // shutting down
    }
  }
}
