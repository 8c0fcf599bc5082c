package io.iotpipe.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

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
                            List<String> metrics, Duration retention, Compaction compaction, ConsumerSettings consumer,
                            Privacy privacy) {

  /** The same storage settings consumed with {@code settings} (the runner's prefetch fitted to the heap). */
  public StorageConfig withConsumer(ConsumerSettings settings) {
    return new StorageConfig(dir, formats, rollRows, rollBytes, rollAge, metrics, retention, compaction, settings, privacy);
  }

  /** What the data scientists' copy keeps of a column: the value, nothing, or a keyed pseudonym. */
  public enum Action { KEEP, DROP, PSEUDONYMISE }

  /**
   * Privacy of the files: per column keep / drop / pseudonymise. Pseudonyms are HMAC-SHA256 with {@code key} (from the
   * environment, never written in the file), so a device always maps to the same pseudonym and data scientists can
   * still group and join by device without learning which charger it is.
   *
   * @param key     the HMAC key, e.g. {@code ${IOTPIPE_PSEUDONYM_KEY}}; required when any column is pseudonymised
   * @param columns action per column: {@code deviceId} (keep or pseudonymise: it keys uniqueness), {@code site},
   *                {@code region}, {@code status}, {@code errorCode}, {@code tenant}, {@code attributes} (the unknown fields the contract kept: a
   *                firmware may send anything there, a serial number or a customer's card id included)
   */
  public record Privacy(Secret key, Map<String, Action> columns) {
    public static final List<String> COLUMNS = List.of("deviceId", "site", "region", "status", "errorCode", "attributes", "tenant");
    public static final Privacy NONE = new Privacy(Secret.NONE, Map.of());

    /** Whether anything is dropped or pseudonymised. */
    public boolean active() {
      return columns.values().stream().anyMatch(a -> a != Action.KEEP);
    }

    public Action action(String column) {
      return columns.getOrDefault(column, Action.KEEP);
    }

    static Privacy read(ConfigNode c) {
      Secret key = c.secret("key");
      ConfigNode cols = c.child("columns");
      Map<String, Action> columns = new java.util.LinkedHashMap<>();
      for (String col : COLUMNS) {
        Action a = cols.enumValue(col, Action.class, Action.KEEP);
        if (col.equals("deviceId") && !cols.check(col, "cannot be dropped: (deviceId, seq) keeps readings unique in the store; use pseudonymise",
            a != Action.DROP, null)) {
          a = Action.PSEUDONYMISE;
        }
        columns.put(col, a);
      }
      cols.finish();
      boolean pseudonyms = columns.containsValue(Action.PSEUDONYMISE);
      if (c.check("key", "required to pseudonymise: key: ${IOTPIPE_PSEUDONYM_KEY} (at least 32 bytes, e.g. openssl rand -base64 48)",
          !pseudonyms || key.isSet(), null)) {
        c.check("key", "must be at least 32 bytes (e.g. openssl rand -base64 48)",
            !pseudonyms || key.reveal().strip().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 32, null);
      }
      c.finish();
      return new Privacy(key, Map.copyOf(columns));
    }
  }

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
      Duration every = c.duration("every", Duration.ofMinutes(10), Duration.ofSeconds(1), ConfigUnits.MAX_DURATION);
      c.finish();
      return new Compaction(enabled, after, every);
    }
  }

  public enum Format { PARQUET, FEATHER, HDF5, JSONL }

  static StorageConfig read(ConfigNode c) {
    Path dir = c.path("dir", Path.of("data/store"));
    List<Format> formats = c.enumValues("formats", Format.class, List.of(Format.PARQUET));
    c.check("formats", "at least one format is required", !(formats.isEmpty() && c.has("formats")), null);
    long rollRows = c.longValue("rollRows", 500_000, 1, 100_000_000);
    long rollBytes = c.bytes("rollBytes", 128L << 20, 1, ConfigUnits.MAX_BYTES);
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
    Privacy privacy = Privacy.read(c.child("privacy"));
    c.finish();
    return new StorageConfig(dir, formats, rollRows, rollBytes, rollAge, metrics, retention, compaction, consumer, privacy);
  }
}
