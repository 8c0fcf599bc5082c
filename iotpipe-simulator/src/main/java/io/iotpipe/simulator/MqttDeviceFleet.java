package io.iotpipe.simulator;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * A fleet of MQTT devices that stay connected, for device-scale benchmarks: each device its own TLS connection and
 * client certificate (as {@code iotpipe device enroll} issues them), all on a few shared Vert.x event loops, so ten
 * thousand devices cost sockets and memory, not ten thousand threads. Devices join in batches ({@link #connect}); once
 * {@link #publishEvery} was called, each connected device publishes one reading (QoS 1) per interval at its own random
 * phase, on its connection's event loop, and every PUBACK's latency (publish call to PUBACK, nanoseconds) goes to the
 * listener.
 */
public final class MqttDeviceFleet implements AutoCloseable {

  /** What one {@link #connect} call did (see the figures' names). */
  public record Connected(int requested, int connected, int failed, double seconds, String firstError) {}

  private final DeviceTlsMqttTransport transport;
  private final TelemetryCodec codec;
  private final LongConsumer pubackNanos;
  private final Map<String, Device> devices = new ConcurrentHashMap<>();
  private final Map<String, Long> timers = new ConcurrentHashMap<>();
  private final LongAdder published = new LongAdder();
  private final LongAdder acked = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private volatile Duration interval;
  private volatile String lastError;

  /**
   * @param eventLoops  I/O threads for all connections
   * @param pubackNanos receives publish-to-PUBACK latencies (called on event loops: keep it cheap and thread-safe)
   */
  public MqttDeviceFleet(URI mqtt, DeviceCredentials creds, int eventLoops, TelemetryCodec codec, LongConsumer pubackNanos) {
    this.transport = new DeviceTlsMqttTransport(mqtt, creds, eventLoops);
    this.codec = codec;
    this.pubackNanos = pubackNanos;
    transport.onConnected = this::schedule;
  }

  /**
   * Connects {@code ids} (enrolled devices), {@code parallelism} handshakes at a time; devices not up within
   * {@code timeout} count as failed. Blocks until all are up or failed.
   */
  public Connected connect(List<String> ids, int parallelism, Duration timeout, Consumer<String> progress) {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    for (String id : ids) {
      devices.computeIfAbsent(id, k -> new Device(k, "bench-site-" + Math.floorMod(k.hashCode(), 20), new Fleet.Region("eu-west", 0), rnd));
    }
    DeviceTlsMqttTransport.Connected c = transport.connect(ids, parallelism, timeout, progress);
    return new Connected(c.requested(), c.connected(), c.failed(), c.seconds(), c.firstError());
  }

  /** From now on every connected device (and every one connecting later) publishes one reading per {@code every}. */
  public void publishEvery(Duration every) {
    this.interval = every;
    // Devices connected before this call get their timers on their own event loop, via the transport's hook.
    for (String id : devices.keySet()) {
      if (transport.isConnected(id)) {
        transport.runOnDeviceLoop(id, () -> schedule(id));
      }
    }
  }

  /** Runs on the device's event loop: a periodic timer there, first firing at a random phase of the interval. */
  private void schedule(String id) {
    Duration every = interval;
    if (every == null) {
      return;
    }
    long ms = Math.max(1, every.toMillis());
    Long old = timers.remove(id);
    if (old != null) {
      transport.vertx().cancelTimer(old);
    }
    long first = 1 + ThreadLocalRandom.current().nextLong(ms);
    timers.put(id, transport.vertx().setPeriodic(first, ms, t -> publish(id)));
  }

  private void publish(String id) {
    Device d = devices.get(id);
    Telemetry t;
    synchronized (d) {
      t = d.next(Instant.now(), ThreadLocalRandom.current());
    }
    byte[] body = codec.encode(t);
    published.increment();
    long t0 = System.nanoTime();
    transport.send(t, body).whenComplete((v, e) -> {
      if (e == null) {
        pubackNanos.accept(System.nanoTime() - t0);
        acked.increment();
      } else {
        failed.increment();
        lastError = e.getMessage();
      }
    });
  }

  /** Readings published, PUBACKed, failed (no PUBACK in time, connection down) so far. */
  public long published() {
    return published.sum();
  }

  public long acked() {
    return acked.sum();
  }

  public long failed() {
    return failed.sum();
  }

  /** The last publish failure's message, or null. */
  public String lastError() {
    return lastError;
  }

  public int connected() {
    return transport.connected();
  }

  /** Connections that closed after they were up. */
  public long disconnects() {
    return transport.disconnects();
  }

  public int size() {
    return devices.size();
  }

  @Override
  public void close() {
    interval = null;
    timers.values().forEach(transport.vertx()::cancelTimer);
    transport.close();
  }
}
