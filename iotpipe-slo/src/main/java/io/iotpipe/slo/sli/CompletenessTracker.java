package io.iotpipe.slo.sli;

import io.iotpipe.core.config.SloConfig;
import io.iotpipe.slo.SloMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The completeness SLI of one sink, measured live without a ledger: devices number their readings ({@code seq} +1
 * per reading), and a partition queue delivers each device's readings in order, so a reading that skips ahead opens
 * a gap, a late arrival (a redelivery after a retry or a failover) closes it, and a gap still open after the grace
 * period counts its readings as missing.
 *
 * <p>Call {@link #delivered} when the sink made a reading durable (right where the consumer acks it) and
 * {@link #deadLettered} when a decodable reading went to the dead-letter queue (it is counted there, by
 * {@code iotpipe_consumer_dead_lettered_total}, and must not count again as a gap). Call {@link #sweep} now and
 * then (every second is plenty); each call also sweeps.
 *
 * <p>Memory is bounded: at most {@code maxDevices} devices (the least recently seen is forgotten; its gaps still
 * within grace count as missing, so a too-small bound errs on the side of reporting loss), at most
 * {@link #MAX_GAPS_PER_DEVICE} gap ranges per device (the oldest is counted missing early). About 150 bytes per
 * device: 100,000 devices take about 15 MB.
 *
 * <p>What it cannot see: readings lost before a device's first reading this process saw (a restart starts fresh),
 * and the tail of a device that stops for good (no later reading reveals the gap); the audit covers both.
 * Hand-written rather than a library: nothing off the shelf tracks per-key sequence gaps with expiry.
 */
public final class CompletenessTracker {

  public static final int MAX_GAPS_PER_DEVICE = 16;

  private final Duration grace;
  private final int maxDevices;
  private final long maxJump;
  private final LongSupplier clock;
  private final Counter readings;
  private final Counter missing;
  private final Counter late;
  private final Counter resets;
  private final Map<String, Device> devices;
  /** Gap openings in time order: grace is the same for all, so the head always expires first. */
  private final ArrayDeque<Pending> expiries = new ArrayDeque<>();
  private long open;

  private static final class Gap {
    long lo;
    long hi;
    final long openedAt;
    boolean expired;

    Gap(long lo, long hi, long openedAt, boolean expired) {
      this.lo = lo;
      this.hi = hi;
      this.openedAt = openedAt;
      this.expired = expired;
    }

    long size() {
      return hi - lo + 1;
    }
  }

  private static final class Device {
    long highest;
    List<Gap> gaps; // null for the vast majority of devices, which have none
    boolean evicted;
  }

  private record Pending(Device device, long openedAt) {}

  public CompletenessTracker(String sink, SloConfig.Completeness cfg, MeterRegistry registry) {
    this(sink, cfg.grace(), cfg.maxDevices(), 1_000_000, registry, System::currentTimeMillis);
  }

  /**
   * @param maxJump a skip of more seqs than this, forward or back, is taken as a device renumbering its readings
   *                (reset, replacement), counted in {@code iotpipe_sli_seq_resets_total} instead of as a gap
   */
  public CompletenessTracker(String sink, Duration grace, int maxDevices, long maxJump, MeterRegistry registry,
                             LongSupplier clockMillis) {
    this.grace = grace;
    this.maxDevices = maxDevices;
    this.maxJump = maxJump;
    this.clock = clockMillis;
    this.devices = new LinkedHashMap<>(1024, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Device> eldest) {
        if (size() <= CompletenessTracker.this.maxDevices) {
          return false;
        }
        forget(eldest.getValue());
        return true;
      }
    };
    this.readings = Counter.builder(SloMetrics.READINGS).tag(SloMetrics.SINK, sink)
        .description("readings made durable for the first time (completeness SLI, good events)").register(registry);
    this.missing = Counter.builder(SloMetrics.MISSING).tag(SloMetrics.SINK, sink)
        .description("readings whose seq gap stayed open longer than the grace period (completeness SLI, bad events)").register(registry);
    this.late = Counter.builder(SloMetrics.LATE).tag(SloMetrics.SINK, sink)
        .description("readings that arrived after their gap had been counted missing").register(registry);
    this.resets = Counter.builder(SloMetrics.SEQ_RESETS).tag(SloMetrics.SINK, sink)
        .description("seq jumps too large to be gaps (device renumbered its readings)").register(registry);
    Gauge.builder(SloMetrics.GAPS_OPEN, this, CompletenessTracker::gapsOpen).tag(SloMetrics.SINK, sink)
        .description("readings inside seq gaps still within the grace period").register(registry);
    Gauge.builder(SloMetrics.DEVICES_TRACKED, this, CompletenessTracker::devicesTracked).tag(SloMetrics.SINK, sink)
        .description("devices the completeness tracker holds state for").register(registry);
  }

  /** A reading the sink made durable. Redeliveries of readings already seen are ignored. */
  public void delivered(String deviceId, long seq) {
    observe(deviceId, seq, true);
  }

  /** A decodable reading the sink dead-lettered: closes its gap without counting it as a good reading. */
  public void deadLettered(String deviceId, long seq) {
    observe(deviceId, seq, false);
  }

  private synchronized void observe(String deviceId, long seq, boolean good) {
    long now = clock.getAsLong();
    sweepLocked(now);
    Device d = devices.get(deviceId);
    if (d == null) {
      d = new Device();
      d.highest = seq;
      devices.put(deviceId, d);
      count(good);
      return;
    }
    if (seq > d.highest) {
      long skipped = seq - d.highest - 1;
      if (skipped > maxJump) {
        reset(d, seq);
      } else if (skipped > 0) {
        openGap(d, d.highest + 1, seq - 1, now);
      }
      d.highest = seq;
      count(good);
      return;
    }
    if (d.highest - seq > maxJump) {
      reset(d, seq);
      count(good);
      return;
    }
    fill(d, seq, good);
  }

  private void count(boolean good) {
    if (good) {
      readings.increment();
    }
  }

  private void reset(Device d, long seq) {
    resets.increment();
    if (d.gaps != null) {
      for (Gap g : d.gaps) {
        if (!g.expired) {
          open -= g.size();
        }
      }
      d.gaps = null;
    }
    d.highest = seq;
  }

  private void openGap(Device d, long lo, long hi, long now) {
    if (d.gaps == null) {
      d.gaps = new ArrayList<>(2);
    }
    if (d.gaps.size() >= MAX_GAPS_PER_DEVICE) {
      dropOldest(d);
    }
    d.gaps.add(new Gap(lo, hi, now, false));
    open += hi - lo + 1;
    expiries.add(new Pending(d, now));
  }

  /** Memory bound per device: forget an expired range first, else count the oldest open one missing now. */
  private void dropOldest(Device d) {
    for (int i = 0; i < d.gaps.size(); i++) {
      if (d.gaps.get(i).expired) {
        d.gaps.remove(i);
        return;
      }
    }
    Gap g = d.gaps.removeFirst();
    open -= g.size();
    missing.increment(g.size());
  }

  /** A seq at or below the highest: fills an open gap, arrives late for an expired one, or is a redelivery. */
  private void fill(Device d, long seq, boolean good) {
    if (d.gaps == null) {
      return; // a redelivery of a reading already counted
    }
    for (int i = 0; i < d.gaps.size(); i++) {
      Gap g = d.gaps.get(i);
      if (seq < g.lo || seq > g.hi) {
        continue;
      }
      if (g.expired) {
        late.increment();
      } else {
        open--;
        count(good);
      }
      if (g.lo == g.hi) {
        d.gaps.remove(i);
      } else if (seq == g.lo) {
        g.lo++;
      } else if (seq == g.hi) {
        g.hi--;
      } else {
        d.gaps.add(i + 1, new Gap(seq + 1, g.hi, g.openedAt, g.expired));
        g.hi = seq - 1;
        if (d.gaps.size() > MAX_GAPS_PER_DEVICE) {
          dropOldest(d);
        }
      }
      if (d.gaps.isEmpty()) {
        d.gaps = null;
      }
      return;
    }
  }

  /** Counts gaps open longer than the grace period as missing. Cheap when nothing is due. */
  public synchronized void sweep() {
    sweepLocked(clock.getAsLong());
  }

  private void sweepLocked(long now) {
    long cutoff = now - grace.toMillis();
    while (!expiries.isEmpty() && expiries.peekFirst().openedAt() <= cutoff) {
      Device d = expiries.pollFirst().device();
      if (d.evicted || d.gaps == null) {
        continue;
      }
      for (Gap g : d.gaps) {
        if (!g.expired && g.openedAt <= cutoff) {
          g.expired = true;
          open -= g.size();
          missing.increment(g.size());
        }
      }
    }
  }

  private void forget(Device d) {
    d.evicted = true;
    if (d.gaps != null) {
      for (Gap g : d.gaps) {
        if (!g.expired) {
          open -= g.size();
          missing.increment(g.size());
        }
      }
    }
  }

  public synchronized long gapsOpen() {
    return open;
  }

  public synchronized int devicesTracked() {
    return devices.size();
  }

  public double readings() {
    return readings.count();
  }

  public double missing() {
    return missing.count();
  }

  public double late() {
    return late.count();
  }

  public double resets() {
    return resets.count();
  }
}
