package io.iotpipe.lake;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * What the lake's commits cost, for sizing {@code lake.commitInterval} against S3 request prices and catalog load:
 * the time of each phase (re-reading the table, writing data files, the state file, the catalog swap with its
 * manifest, manifest list and metadata file), readings per commit, and the objects each commit writes.
 */
final class CommitMeters {

  /** Objects a commit writes besides its data files: state file, manifest, manifest list, metadata file. */
  static final int OBJECTS_PER_COMMIT = 4;

  private final Timer refresh;
  private final Timer files;
  private final Timer state;
  private final Timer catalog;
  private final DistributionSummary rows;
  private final Timer stageFiles;
  private final Timer stageRecord;
  private final DistributionSummary stageRows;
  private final Counter objects;

  CommitMeters(MeterRegistry registry) {
    refresh = phase(registry, "refresh");
    files = phase(registry, "data-files");
    state = phase(registry, "state-file");
    catalog = phase(registry, "catalog");
    stageFiles = Timer.builder("iotpipe.lake.stage.phase").tag("phase", "data-files")
        .description("time of each phase of the lake's hand-offs (the readings are acked after the stage record)").register(registry);
    stageRecord = Timer.builder("iotpipe.lake.stage.phase").tag("phase", "stage-record")
        .description("time of each phase of the lake's hand-offs (the readings are acked after the stage record)").register(registry);
    stageRows = DistributionSummary.builder("iotpipe.lake.stage.rows").description("readings per lake hand-off (per partition)").register(registry);
    rows = DistributionSummary.builder("iotpipe.lake.commit.rows").description("readings per lake commit").register(registry);
    objects = Counter.builder("iotpipe.lake.objects.written")
        .description("objects the lake's commits wrote to the warehouse (data files, state files, manifests, metadata)")
        .register(registry);
  }

  private static Timer phase(MeterRegistry registry, String phase) {
    return Timer.builder("iotpipe.lake.commit.phase").tag("phase", phase)
        .description("time of each phase of the lake's commits (catalog: the swap with manifest, manifest list and metadata)")
        .register(registry);
  }

  /** A hand-off: its data files and its stage record. */
  void staged(int rowCount, int dataFiles, long filesNanos, long recordNanos) {
    stageFiles.record(filesNanos, TimeUnit.NANOSECONDS);
    stageRecord.record(recordNanos, TimeUnit.NANOSECONDS);
    stageRows.record(rowCount);
    objects.increment(dataFiles + 1);
  }

  /** A commit; with the hand-off its data files were counted when staged ({@code dataFiles} 0). */
  void record(int rowCount, int dataFiles, long refreshNanos, long filesNanos, long stateNanos, long catalogNanos) {
    refresh.record(refreshNanos, TimeUnit.NANOSECONDS);
    files.record(filesNanos, TimeUnit.NANOSECONDS);
    state.record(stateNanos, TimeUnit.NANOSECONDS);
    catalog.record(catalogNanos, TimeUnit.NANOSECONDS);
    rows.record(rowCount);
    objects.increment(dataFiles + OBJECTS_PER_COMMIT);
  }
}
