package io.iotpipe.storage;

import io.iotpipe.core.config.StorageConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store role's background upkeep: merges the files of closed hours ({@link Compactor}) and drops day
 * partitions past the retention ({@link Retention}). The runtime schedules it on every store instance ({@link #jobs()}); the store lock lets one work
 * at a time and the others skip the round, so adding instances adds no contention and a dead instance leaves no
 * lock behind. Failures are logged and retried next round: upkeep never touches the acked-data path.
 */
public final class Housekeeper {

  private static final Logger LOG = LoggerFactory.getLogger(Housekeeper.class);

  /** The first round soon after start, so a store that was down for a while catches up. */
  static final Duration FIRST_ROUND = Duration.ofMinutes(1);

  public record Round(boolean skipped, int hoursCompacted, int filesBefore, int filesAfter, List<String> daysDropped) {}

  private final StorageConfig cfg;
  private final Clock clock;
  private final Counter hours;
  private final Counter filesRemoved;
  private final Counter daysDropped;
  private final Counter failures;

  public Housekeeper(StorageConfig cfg, Clock clock, MeterRegistry registry) {
    this.cfg = cfg;
    this.clock = clock;
    this.hours = registry.counter("iotpipe.storage.compaction.hours");
    this.filesRemoved = registry.counter("iotpipe.storage.compaction.files.removed");
    this.daysDropped = registry.counter("iotpipe.storage.retention.days.dropped");
    this.failures = registry.counter("iotpipe.storage.housekeeping.failures");
  }

  /**
   * The job the runtime schedules for the store role (every {@code storage.compaction.every}); none when compaction
   * is disabled. A round interrupted by shutdown is safe: compaction is crash-safe and the next round finishes it.
   */
  public java.util.List<io.iotpipe.sink.ScheduledJob> jobs() {
    if (!cfg.compaction().enabled()) {
      return List.of();
    }
    Duration first = FIRST_ROUND.compareTo(cfg.compaction().every()) < 0 ? FIRST_ROUND : cfg.compaction().every();
    return List.of(new io.iotpipe.sink.ScheduledJob("storage-housekeeping", first, cfg.compaction().every(), this::roundQuietly));
  }

  private void roundQuietly() {
    try {
      Round r = round();
      if (r.hoursCompacted() > 0 || !r.daysDropped().isEmpty()) {
        LOG.info("housekeeping: {} closed hours merged ({} files -> {}), day partitions dropped by retention: {}",
            r.hoursCompacted(), r.filesBefore(), r.filesAfter(), r.daysDropped());
      }
    } catch (IOException | RuntimeException e) {
      failures.increment();
      LOG.warn("housekeeping failed, next round in {}: {}", cfg.compaction().every(), e.getMessage());
    }
  }

  /** One round now; skipped (nothing done) if another process holds the store lock. */
  public Round round() throws IOException {
    try (StoreLock lock = StoreLock.acquire(cfg.dir(), false)) {
      if (lock == null) {
        return new Round(true, 0, 0, 0, List.of());
      }
      // Retention first: no point merging hours that are about to be dropped.
      List<String> dropped = cfg.retention() == null ? List.of() : Retention.applyLocked(cfg.dir(), cfg.retention(), clock);
      Compactor.Result c = Compactor.compactLocked(cfg.dir(), cfg.metrics(), cfg.compaction().after(), clock);
      hours.increment(c.hours());
      filesRemoved.increment(c.filesBefore() - c.filesAfter());
      daysDropped.increment(dropped.size());
      return new Round(false, c.hours(), c.filesBefore(), c.filesAfter(), dropped);
    }
  }
}
