package io.iotpipe.lake;

import io.iotpipe.sink.ScheduledJob;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lake's upkeep as a job the runtime schedules on every lake instance (every {@code lake.maintenance.every}):
 * retention ({@code storage.retention}), compaction, snapshot expiry and orphan removal, in that order, each one
 * Iceberg commit that is safe while writers commit ({@link LakeMaintenance}). Instances racing for the same rewrite
 * lose cleanly: Iceberg refuses the second commit, the round is counted as failed and the next one finds less to do.
 */
final class LakeHousekeeping {

  private static final Logger LOG = LoggerFactory.getLogger(LakeHousekeeping.class);
  /** The first round soon after start: a lake that was down catches up without waiting a whole interval. */
  private static final Duration FIRST_ROUND = Duration.ofSeconds(30);

  private final LakeSection.Settings settings;
  private final LakeSection.Maintenance m;
  private final Duration retention;
  private final Clock clock;
  private final Counter rounds;
  private final Counter failures;
  private final Counter filesRemoved;
  private final Counter snapshotsExpired;
  private final Counter orphansRemoved;
  private Table table;

  LakeHousekeeping(LakeSection.Settings settings, Duration retention, Clock clock, MeterRegistry registry) {
    this.settings = settings;
    this.m = settings.maintenance();
    this.retention = retention;
    this.clock = clock;
    this.rounds = registry.counter("iotpipe.lake.maintenance.rounds");
    this.failures = registry.counter("iotpipe.lake.maintenance.failures");
    this.filesRemoved = registry.counter("iotpipe.lake.maintenance.files.removed");
    this.snapshotsExpired = registry.counter("iotpipe.lake.maintenance.snapshots.expired");
    this.orphansRemoved = registry.counter("iotpipe.lake.maintenance.orphans.removed");
  }

  List<ScheduledJob> jobs() {
    if (m.every().isZero()) {
      return List.of();
    }
    Duration first = FIRST_ROUND.compareTo(m.every()) < 0 ? FIRST_ROUND : m.every();
    return List.of(new ScheduledJob("lake-maintenance", first, m.every(), this::roundQuietly));
  }

  private void roundQuietly() {
    try {
      round();
      rounds.increment();
    } catch (RuntimeException e) {
      failures.increment();
      LOG.warn("lake maintenance failed, next round in {}: {}", m.every(), LakeCatalog.explain(e));
    }
  }

  /** One round now. */
  void round() {
    if (table == null) {
      // Opened on the first round, not at start: an object store down at start delays upkeep, not the role.
      table = settings.catalog().open().loadTable(TableIdentifier.parse(settings.table()));
    }
    LakeMaintenance maintenance = new LakeMaintenance(table);
    if (retention != null) {
      maintenance.dropDaysBefore(retention, clock.instant());
    }
    LakeMaintenance.Compacted c = maintenance.compact(m.compactMinFiles(), m.compactMaxRows());
    filesRemoved.increment(Math.max(0, c.filesBefore() - c.filesAfter()));
    int expired = maintenance.expireSnapshots(m.keepSnapshots(), m.partitionIdleLimit(), clock.instant());
    snapshotsExpired.increment(expired);
    int orphans = maintenance.removeOrphans(m.orphanAge(), clock.instant());
    orphansRemoved.increment(orphans);
    if (c.days() > 0 || expired > 0 || orphans > 0) {
      LOG.info("lake maintenance: {} event days compacted ({} files -> {}), {} snapshots expired, {} orphan files removed",
          c.days(), c.filesBefore(), c.filesAfter(), expired, orphans);
    }
  }
}
