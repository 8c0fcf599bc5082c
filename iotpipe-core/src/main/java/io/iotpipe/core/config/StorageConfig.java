package io.iotpipe.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The analytics path: files for data scientists.
 *
 * @param dir        root of the store (Hive-style {@code date=YYYY-MM-DD/hour=HH/} below it)
 * @param formats    file formats written for every batch (several may be combined)
 * @param rollRows   a file is committed when it holds this many rows ...
 * @param rollBytes  ... or this many (uncompressed, estimated) bytes ...
 * @param rollAge    ... or when its oldest row waited this long (the visibility bound)
 * @param metrics    metrics stored as typed columns; others are kept in a map column
 * @param retention  day partitions older than this are deleted by retention (null: keep forever)
 * @param compaction the store role's background merging of closed hours, and when retention runs
 * @param consumer   queue consumption and batching
 */
public record StorageConfig(Path dir, List<Format> formats, long rollRows, long rollBytes, Duration rollAge,
                            List<String> metrics, Duration retention, Compaction compaction, ConsumerSettings consumer) {

  /**
   * Files roll at half the prefetch (rows wait unacked until their file commits), so a busy hour ends with many
   * files of a few MB each; the store role merges them once the hour is closed, which is what keeps the store free
   * of tiny files without holding millions of unacked messages.
   *
   * @param enabled whether {@code iotpipe run --role store} compacts (and applies retention) by itself
   * @param after   an hour counts as closed this long after its end (late readings still arrive; a later pass merges them)
   * @param every   how often the store role looks for work (one instance at a time works; the others skip)
   */
  public record Compaction(boolean enabled, Duration after, Duration every) {
    static Compaction read(ConfigNode c) {
      boolean enabled = c.bool("enabled", true);
      Duration after = c.duration("after", Duration.ofMinutes(15));
      Duration every = c.duration("every", Duration.ofMinutes(10), Duration.ofSeconds(1), ConfigNode.MAX_DURATION);
      c.finish();
      return new Compaction(enabled, after, every);
    }
  }

  public enum Format { PARQUET, FEATHER, HDF5, JSONL }

  static StorageConfig read(ConfigNode c) {
    Path dir = c.path("dir", Path.of("data/store"));
    List<Format> formats = c.enumValues("formats", Format.class, List.of(Format.PARQUET));
    if (formats.isEmpty() && c.has("formats")) {
      c.error("formats", "at least one format is required");
    }
    long rollRows = c.longValue("rollRows", 500_000, 1, 100_000_000);
    long rollBytes = c.bytes("rollBytes", 128L << 20, 1, ConfigNode.MAX_BYTES);
    Duration rollAge = c.duration("rollAge", Duration.ofSeconds(60));
    List<String> metrics = c.strings("metrics", List.of("powerKw", "energyKwh", "soc", "tempC", "voltageV", "currentA"));
    Duration retention = c.duration("retention", null);
    Compaction compaction = Compaction.read(c.child("compaction"));
    // Rows wait unacked until their file commits (a file holds at most half the prefetch). 5000 rather than more:
    // the broker's CPU per message grows with the unacked count (bench store, 4 partitions: 1.4 CPU-s per 100k at
    // 5000, 2.4 at 10000, 4.0 at 20000, against 1.0 for ack-at-once); background compaction merges the files.
    // The sink gathers rows into files itself, so the consumer hands over what it has at once: lingering for a
    // fuller batch (200 ms, the indexer's default) stalled every partition at its prefetch limit while its last
    // rows waited in the consumer instead of completing a file (bench store: 0.4-0.7 of the ceiling).
    ConsumerSettings consumer = ConsumerSettings.read(c.child("consumer"), 5000, 5000, Duration.ofMillis(5));
    c.finish();
    return new StorageConfig(dir, formats, rollRows, rollBytes, rollAge, metrics, retention, compaction, consumer);
  }
}
