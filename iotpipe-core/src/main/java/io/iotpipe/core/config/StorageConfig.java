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
 * @param retention  hour partitions older than this are deleted by retention (null: keep forever)
 * @param consumer   queue consumption and batching
 */
public record StorageConfig(Path dir, List<Format> formats, long rollRows, long rollBytes, Duration rollAge,
                            List<String> metrics, Duration retention, ConsumerSettings consumer) {

  public enum Format { PARQUET, FEATHER, HDF5, JSONL }

  static StorageConfig read(ConfigNode c) {
    Path dir = Path.of(c.string("dir", "data/store"));
    List<Format> formats = c.enumValues("formats", Format.class, List.of(Format.PARQUET));
    if (formats.isEmpty() && c.has("formats")) {
      c.error("formats", "at least one format is required");
    }
    long rollRows = c.longValue("rollRows", 500_000, 1, 100_000_000);
    long rollBytes = c.bytes("rollBytes", 128L << 20);
    Duration rollAge = c.duration("rollAge", Duration.ofSeconds(60));
    List<String> metrics = c.strings("metrics", List.of("powerKw", "energyKwh", "soc", "tempC", "voltageV", "currentA"));
    Duration retention = c.duration("retention", null);
    // Rows wait unacked until their file commits, so the prefetch must cover a whole rolling file per partition.
    ConsumerSettings consumer = ConsumerSettings.read(c.child("consumer"), 20_000, 5000);
    c.finish();
    return new StorageConfig(dir, formats, rollRows, rollBytes, rollAge, metrics, retention, consumer);
  }
}
