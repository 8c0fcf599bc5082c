package io.iotpipe.simulator;

import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.retry.Backoff;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Runs a fleet against the edge. Each device behaves like a careful real device: one reading in flight at a time,
 * and a reading that was not confirmed (nack from a full edge buffer, connection lost) is kept and sent again after
 * a backoff before the device moves on. That keeps each device's readings in {@code seq} order end to end, which
 * the sinks rely on, and makes the ledger exact: a device's confirmed readings are {@code 1..n}.
 */
public final class Simulation implements AutoCloseable {

  /**
   * @param rate              messages per second of the whole fleet at the profile's peak
   * @param duration          how long to generate new readings (null: until {@code messagesPerDevice})
   * @param messagesPerDevice stop a device after this many readings (0: no limit)
   * @param drainTimeout      after generation stops, how long unconfirmed readings are still retried
   */
  public record Options(int devices, double rate, Duration duration, long messagesPerDevice, SimulatorConfig.LoadShape profile,
                        SimulatorConfig.Protocol protocol, int maxInFlight, List<SimulatorConfig.Region> regions, String runId,
                        Duration drainTimeout, long seed) {

    public static Options from(SimulatorConfig s) {
      return new Options(s.devices(), s.rate(), s.duration(), 0, s.profile(), s.protocol(), s.maxInFlight(), s.regions(),
          UUID.randomUUID().toString().substring(0, 6), Duration.ofSeconds(30), System.nanoTime());
    }

    public Options with(int devices, double rate, Duration duration, long perDevice) {
      return new Options(devices, rate, duration, perDevice, profile, protocol, maxInFlight, regions, runId, drainTimeout, seed);
    }

    public Options withProfile(SimulatorConfig.LoadShape p, SimulatorConfig.Protocol proto) {
      return new Options(devices, rate, duration, messagesPerDevice, p, proto, maxInFlight, regions, runId, drainTimeout, seed);
    }
  }

  /** A snapshot for progress displays. */
  public record Progress(long published, long confirmed, long nacked, long returned, long failed, long inFlight,
                         double elapsedSeconds, boolean generating) {}

  /**
   * What a device's firmware publishes for a reading: by default the reading as this pipeline's codec encodes it. A
   * chaos scenario rolls out firmware that adds fields, sends {@code v: 2} or runs its clock ahead mid-run.
   */
  @FunctionalInterface
  public interface Firmware {
    /** @param elapsedSeconds since the run started */
    byte[] encode(Telemetry reading, double elapsedSeconds, TelemetryCodec codec);
  }

  private static final Backoff RETRY = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));

  private final Options o;
  private final Transport transport;
  private final TelemetryCodec codec;
  private final Fleet fleet;
  private final LoadProfile profile;
  private final DeviceRun[] runs;
  private final LongAdder published = new LongAdder();
  private final LongAdder confirmed = new LongAdder();
  private final LongAdder nacked = new LongAdder();
  private final LongAdder returned = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final AtomicLong inFlight = new AtomicLong();
  private final Map<String, LongAdder> perRegion = new ConcurrentHashMap<>();
  private volatile boolean stopRequested;
  private volatile String lastError;
  private volatile long startNanos;
  private volatile boolean generating = true;
  private volatile Firmware firmware = (t, elapsed, c) -> c.encode(t);

  private static final class DeviceRun {
    final Device device;
    Telemetry pending;
    byte[] body;
    volatile boolean inFlight;
    long retryAt;
    int attempts;
    double credit;
    volatile long confirmedSeq;

    DeviceRun(Device d) {
      this.device = d;
    }
  }

  public static Simulation create(IotpipeConfig cfg, Options o) {
    var edge = cfg.broker(cfg.simulator().edge());
    Transport t = o.protocol() == SimulatorConfig.Protocol.MQTT
        ? new MqttTransport(cfg.simulator().mqtt(), edge, Math.min(8, Math.max(1, o.devices() / 50)), o.maxInFlight())
        : new AmqpTransport(edge, cfg.topology().names().edgeIngress(), o.maxInFlight());
    return new Simulation(o, t, new TelemetryCodec(cfg.contract(), Clock.systemUTC()));
  }

  /**
   * Secure mode: every simulated device opens its own TLS connection to the edge and logs in with its own certificate
   * from {@code creds} (enroll {@link #deviceIds(Options)} first), over AMQP or MQTT as {@code o.protocol()} says.
   */
  public static Simulation create(IotpipeConfig cfg, Options o, DeviceCredentials creds, Consumer<String> progress) {
    if (creds == null) {
      return create(cfg, o);
    }
    var edge = cfg.broker(cfg.simulator().edge());
    Transport t = o.protocol() == SimulatorConfig.Protocol.MQTT
        ? new DeviceTlsMqttTransport(cfg.simulator().mqtt(), creds, deviceIds(o), progress)
        : new DeviceTlsAmqpTransport(edge, cfg.topology().names().edgeIngress(), creds, deviceIds(o), progress);
    return new Simulation(o, t, new TelemetryCodec(cfg.contract(), Clock.systemUTC()));
  }

  /** The ids of the devices a simulation with {@code o} runs (deterministic: enroll them before it starts). */
  public static List<String> deviceIds(Options o) {
    return new Fleet(o.devices(), o.regions(), o.runId(), o.seed()).devices.stream().map(d -> d.id).toList();
  }

  Simulation(Options o, Transport transport, TelemetryCodec codec) {
    this.o = o;
    this.transport = transport;
    this.codec = codec;
    this.fleet = new Fleet(o.devices(), o.regions(), o.runId(), o.seed());
    this.profile = new LoadProfile(o.profile());
    this.runs = fleet.devices.stream().map(DeviceRun::new).toArray(DeviceRun[]::new);
  }

  /** From now on the devices publish what {@code f} makes of their readings (the ledger still counts them by seq). */
  public Simulation firmware(Firmware f) {
    this.firmware = f;
    return this;
  }

  /** Asks a running simulation to stop generating and drain (e.g. on Ctrl-C). */
  public void stop() {
    stopRequested = true;
  }

  public Progress progress() {
    double el = startNanos == 0 ? 0 : (System.nanoTime() - startNanos) / 1e9;
    return new Progress(published.sum(), confirmed.sum(), nacked.sum(), returned.sum(), failed.sum(), inFlight.get(), el, generating);
  }

  /** Runs to the end (blocking); {@code onProgress} is called about once a second. */
  public SimulationResult run(Consumer<Progress> onProgress) {
    startNanos = System.nanoTime();
    SplittableRandom rnd = new SplittableRandom(o.seed() ^ 0x5DEECE66DL);
    double perDevice = o.rate() / Math.max(1, o.devices());
    // Devices start at random phases: with all credits at 0 they would all save up to their first reading together
    // and then report in lock-step bursts (at 0.5 readings/s per device, the whole fleet at once every 2 s).
    for (DeviceRun r : runs) {
      r.credit = rnd.nextDouble();
    }
    long lastTick = System.nanoTime();
    long lastReport = lastTick;
    long drainDeadline = Long.MAX_VALUE;
    while (true) {
      long now = System.nanoTime();
      double dt = (now - lastTick) / 1e9;
      lastTick = now;
      double elapsed = (now - startNanos) / 1e9;
      if (generating) {
        boolean timeUp = o.duration() != null && elapsed >= o.duration().toNanos() / 1e9;
        boolean allDone = o.messagesPerDevice() > 0 && allReached();
        if (timeUp || allDone || stopRequested) {
          generating = false;
          drainDeadline = now + o.drainTimeout().toNanos();
        }
      }
      double progress = o.duration() == null ? 0.5 : Math.min(1, elapsed / (o.duration().toNanos() / 1e9));
      long wall = System.currentTimeMillis();
      boolean outstanding = false;
      for (DeviceRun r : runs) {
        if (r.inFlight) {
          outstanding = true;
          continue;
        }
        if (r.pending != null) {
          outstanding = true;
          if (wall >= r.retryAt) {
            send(r);
          }
          continue;
        }
        if (!generating || (o.messagesPerDevice() > 0 && r.device.seq() >= o.messagesPerDevice())) {
          continue;
        }
        r.credit = Math.min(2, r.credit + perDevice * profile.factor(progress, r.device.region.utcOffsetHours()) * dt);
        if (r.credit >= 1) {
          r.credit -= 1;
          r.pending = r.device.next(java.time.Instant.ofEpochMilli(wall), rnd);
          r.body = firmware.encode(r.pending, elapsed, codec);
          published.increment();
          send(r);
        }
      }
      if (now - lastReport >= 1_000_000_000L && onProgress != null) {
        lastReport = now;
        onProgress.accept(progress());
      }
      if (!generating && (!outstanding || now >= drainDeadline || (stopRequested && now >= drainDeadline))) {
        break;
      }
      try {
        Thread.sleep(5); // the tick of the rate scheduler, not a wait for a condition
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (onProgress != null) {
      onProgress.accept(progress());
    }
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    Map<String, Long> regions = new LinkedHashMap<>();
    perRegion.forEach((k, v) -> regions.put(k, v.sum()));
    long unconfirmed = 0;
    for (DeviceRun r : runs) {
      unconfirmed += r.device.seq() - r.confirmedSeq;
    }
    return new SimulationResult(o.runId(), published.sum(), confirmed.sum(), nacked.sum(), returned.sum(), failed.sum(),
        unconfirmed, seconds, regions, lastError);
  }

  private boolean allReached() {
    for (DeviceRun r : runs) {
      if (r.device.seq() < o.messagesPerDevice()) {
        return false;
      }
    }
    return true;
  }

  private void send(DeviceRun r) {
    r.inFlight = true;
    inFlight.incrementAndGet();
    Telemetry t = r.pending;
    transport.send(t, r.body).whenComplete((v, e) -> {
      if (e == null) {
        confirmed.increment();
        perRegion.computeIfAbsent(t.region(), k -> new LongAdder()).increment();
        r.confirmedSeq = t.seq();
        r.pending = null;
        r.body = null;
        r.attempts = 0;
      } else {
        String msg = String.valueOf(e.getMessage());
        if (msg.contains("nacked")) {
          nacked.increment();
        } else if (msg.contains("unroutable")) {
          returned.increment();
        } else {
          failed.increment();
        }
        lastError = msg;
        r.attempts++;
        r.retryAt = System.currentTimeMillis() + RETRY.delay(r.attempts).toMillis();
      }
      inFlight.decrementAndGet();
      r.inFlight = false;
    });
  }

  /** Per device: readings confirmed and published so far. */
  public Ledger ledger() {
    Map<String, Ledger.Entry> d = new LinkedHashMap<>();
    for (DeviceRun r : runs) {
      d.put(r.device.id, new Ledger.Entry(r.confirmedSeq, r.device.seq()));
    }
    return new Ledger(o.runId(), d);
  }

  @Override
  public void close() {
    transport.close();
  }
}
