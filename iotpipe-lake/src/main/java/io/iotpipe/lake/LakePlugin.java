package io.iotpipe.lake;

import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.sink.PrivateSink;
import io.iotpipe.sink.ScheduledJob;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkContext;
import io.iotpipe.sink.SinkPlugin;
import java.time.Duration;
import java.util.List;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * The Iceberg table as a runtime plugin: role {@code lake}, the {@code lake} partition queues, the {@code lake:}
 * section. The table's columns follow {@code storage.metrics} (the store's metric list), by schema evolution, and
 * {@code storage.privacy} applies to its rows as to the files.
 */
public final class LakePlugin implements SinkPlugin {

  /** The sink's name (its queues, metrics, SLOs), which is also its role's. */
  static final String SINK = "lake";

  @Override
  public String role() {
    return SINK;
  }

  @Override
  public String sink() {
    return SINK;
  }

  @Override
  public String description() {
    return "commits readings into an Apache Iceberg table on S3-compatible storage, exactly once";
  }

  @Override
  public ConsumerSettings consumer(IotpipeConfig cfg) {
    return cfg.section(LakeSection.SECTION).consumer();
  }

  @Override
  public Duration commitTick(IotpipeConfig cfg) {
    // the clock ticks at the spacing; the sink commits on a tick once its oldest reading is commitInterval old or a
    // partition's budget is full (LakeSink.cadence)
    return cfg.section(LakeSection.SECTION).minCommitSpacing();
  }

  /** The partitions' hand-offs run in parallel, each an upload round trip or two (LakeSink.stagers). */
  @Override
  public int workerThreads(IotpipeConfig cfg) {
    return STAGERS;
  }

  static final int STAGERS = 4;

  @Override
  public List<ScheduledJob> jobs(IotpipeConfig cfg, SinkContext ctx) {
    return new LakeHousekeeping(cfg.section(LakeSection.SECTION), cfg.storage().retention(), ctx.clock(), ctx.registry()).jobs();
  }

  @Override
  public Sink create(IotpipeConfig cfg, SinkContext ctx) {
    LakeSection.Settings s = cfg.section(LakeSection.SECTION);
    Catalog catalog = s.catalog().open();
    var table = new TelemetryTable(cfg.storage().metrics()).createOrLoad(catalog, TableIdentifier.parse(s.table()));
    // half the prefetch in force (fitted to the heap), not the configured one: see LakeSink.partitionBudget
    Sink lake = new LakeSink(sink(), table, s.flushRows(), s.flushBytes())
        .partitionBudget(ctx.consumer().prefetch() / 2).cadence(s.commitInterval(), s.minCommitSpacing()).stagers(ctx.workers())
        .metrics(ctx.registry()).whenFlushDue(ctx::requestCommit);
    // storage.privacy is the data scientists' policy, whichever store holds their copy: the table, its state files and
    // its uniqueness keys see only pseudonyms, exactly as the file store's do.
    return cfg.storage().privacy().active() ? new PrivateSink(lake, cfg.storage().privacy()) : lake;
  }
}
