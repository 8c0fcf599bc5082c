package io.iotpipe.lake;

import io.iotpipe.core.config.ConfigNode;
import io.iotpipe.core.config.ConfigSection;
import io.iotpipe.core.config.ConfigUnits;
import io.iotpipe.core.config.ConsumerSettings;
import io.iotpipe.core.config.Secret;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The {@code lake:} section: where the Iceberg table lives (catalog, warehouse on S3-compatible storage), how often
 * the runtime commits it, and how its role consumes. Declared here, next to the sink that uses it.
 */
public final class LakeSection implements ConfigSection<LakeSection.Settings> {

  /**
   * @param catalog        the catalog and object store (secrets resolved from the environment)
   * @param table          namespace.table, e.g. {@code iotpipe.telemetry}
   * @param commitInterval how often the runtime commits the buffered readings (one snapshot for all partitions)
   * @param minCommitSpacing the runtime's clock period: each tick hands off what is buffered; no two commits closer
   * @param flushRows      an early commit once this many readings are buffered
   * @param flushBytes     ... or about this many bytes of heap
   * @param consumer       how the {@code lake} role consumes its partition queues
   */
  public record Settings(LakeCatalog catalog, String table, Duration commitInterval, Duration minCommitSpacing,
                         long flushRows, long flushBytes, ConsumerSettings consumer, Maintenance maintenance) {}

  /**
   * The table's upkeep, run by the runtime on every lake instance ({@link LakeHousekeeping}).
   *
   * @param every              between rounds; zero: no upkeep by the role (an operator's Spark job does it)
   * @param compactMinFiles    an event day with at least this many files is merged into one sorted file
   * @param compactMaxRows     at most this many rows per day and round (they are sorted in memory)
   * @param keepSnapshots      snapshots younger than this stay (time travel with {@code --as-of} reaches this far)
   * @param partitionIdleLimit a source partition idle longer no longer holds back expiry of its last commit
   * @param orphanAge          unreferenced objects older than this are deleted (younger: maybe an upload in flight)
   */
  public record Maintenance(Duration every, int compactMinFiles, long compactMaxRows, Duration keepSnapshots,
                            Duration partitionIdleLimit, Duration orphanAge) {}

  public static final LakeSection SECTION = new LakeSection();

  /**
   * Each commit is a snapshot that every later {@code metadata.json} lists until expiry ({@code maintenance.keepSnapshots}):
   * a role that commits whenever a partition's budget fills would write hundreds a minute under load, and every
   * commit would rewrite a longer metadata file. One a second at most keeps an hour of history at 3,600 snapshots.
   */
  static final Duration DEFAULT_SPACING = Duration.ofSeconds(1);

  @Override
  public String name() {
    return "lake";
  }

  /**
   * The table's freshness: a partition's readings become visible at its next commit, one commit interval after they
   * arrive at most, and the commits of a busy process's partitions queue behind each other; twice the interval and
   * the file store's 30 s margin for that.
   */
  @Override
  public Map<String, Duration> visibleWithin(Settings settings) {
    return Map.of(LakePlugin.SINK, settings.commitInterval().multipliedBy(2).plusSeconds(30));
  }

  @Override
  public Settings read(ConfigNode c) {
    ConfigNode cat = c.child("catalog");
    String uri = cat.matching("uri", "jdbc:sqlite:data/lake/catalog.db", java.util.regex.Pattern.compile("(jdbc:(sqlite|postgresql):|https?://).+"),
        "jdbc:sqlite:FILE (one machine), jdbc:postgresql://HOST/DB (several) or the URL of an Iceberg REST catalog");
    String user = cat.string("username", null);
    Secret password = cat.secret("password");
    cat.check("username", "with a REST catalog only together with catalog.password (OAuth2 client id and secret)",
        !uri.startsWith("http") || user == null || password.isSet(), null);
    cat.finish();
    String warehouse = c.matching("warehouse", "s3://iotpipe-lake/warehouse", java.util.regex.Pattern.compile("s3a?://[a-z0-9.-]{3,63}(/.*)?|file:/.+"),
        "s3://BUCKET/PATH, or file:/DIR for a warehouse on this machine's disk");
    ConfigNode s3 = c.child("s3");
    URI endpoint = s3.uri("endpoint", null, Set.of("http", "https"));
    boolean pathStyle = s3.bool("pathStyle", endpoint != null);
    String region = s3.string("region", "us-east-1");
    Secret accessKey = s3.secret("accessKey");
    Secret secretKey = s3.secret("secretKey");
    s3.check("secretKey", "set together with accessKey (or neither: the AWS default credential chain)",
        accessKey.isSet() == secretKey.isSet(), null);
    Path caFile = s3.path("caFile", null);
    if (s3.check("caFile", "must be a readable PEM file (the CA certificate that signed the object store's certificate)",
        caFile == null || Files.isReadable(caFile), caFile == null ? null : caFile.toString())) {
      s3.check("caFile", "only with an https:// s3.endpoint (AWS S3's certificates are trusted already)",
          caFile == null || (endpoint != null && endpoint.getScheme().equals("https")), null);
    }
    s3.finish();
    String table = c.matching("table", "iotpipe.telemetry", java.util.regex.Pattern.compile("[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*"),
        "namespace.table");
    Duration every = c.duration("commitInterval", Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofHours(1));
    Duration spacing = c.duration("minCommitSpacing", every.compareTo(DEFAULT_SPACING) < 0 ? every : DEFAULT_SPACING,
        Duration.ofMillis(100), Duration.ofHours(1));
    c.check("minCommitSpacing", "at most commitInterval", spacing.compareTo(every) <= 0,
        ConfigUnits.formatDuration(spacing));
    long rows = c.longValue("flushRows", 50_000, 1, 10_000_000);
    long bytes = c.bytes("flushBytes", 64L << 20, 1L << 20, 16L << 30);
    ConsumerSettings consumer = ConsumerSettings.read(c.child("consumer"), 5000, 1000, Duration.ofMillis(5));
    ConfigNode mc = c.child("maintenance");
    Maintenance maintenance = new Maintenance(
        mc.duration("every", Duration.ofMinutes(10), Duration.ZERO, Duration.ofDays(1)),
        (int) mc.longValue("compactMinFiles", 8, 2, 100_000),
        mc.longValue("compactMaxRows", 2_000_000, 1_000, 100_000_000),
        mc.duration("keepSnapshots", Duration.ofHours(1), Duration.ofMinutes(1), Duration.ofDays(3650)),
        mc.duration("partitionIdleLimit", Duration.ofDays(7), Duration.ofHours(1), Duration.ofDays(3650)),
        mc.duration("orphanAge", Duration.ofDays(1), Duration.ofHours(1), Duration.ofDays(3650)));
    mc.finish();
    LakeCatalog catalog = new LakeCatalog(uri, user, password.isSet() ? password.reveal() : null, warehouse,
        endpoint == null ? null : endpoint.toString(), pathStyle, region,
        accessKey.isSet() ? accessKey.reveal() : null, secretKey.isSet() ? secretKey.reveal() : null,
        caFile == null ? null : caFile.toAbsolutePath().toString());
    return new Settings(catalog, table, every, spacing, rows, bytes, consumer, maintenance);
  }

  @Override
  public Map<String, String> docs() {
    Map<String, String> d = new LinkedHashMap<>();
    d.put("", "the data scientists' store as an Apache Iceberg table (role `lake`, sink `lake` in `topology.sinks`)");
    d.put("catalog.uri", "the catalog that makes commits atomic across writers: embedded SQLite for one machine, PostgreSQL for several, or an Iceberg REST catalog");
    d.put("catalog.username", "catalog database user; for a REST catalog the OAuth2 client id");
    d.put("catalog.password", "catalog database password, from the environment (`${IOTPIPE_LAKE_CATALOG_PASSWORD}`); for a REST catalog the OAuth2 client secret, or without a username a bearer token");
    d.put("warehouse", "where data and metadata files go: an S3 bucket and path, or a local directory (`file:/DIR`, one machine)");
    d.put("s3.endpoint", "S3 API endpoint of an S3-compatible store (MinIO, Ceph RGW, s3proxy); absent: AWS S3");
    d.put("s3.pathStyle", "path-style addressing (`http://host/bucket/key`), as MinIO, Ceph RGW and s3proxy want (default: true when an endpoint is set)");
    d.put("s3.region", "signing region");
    d.put("s3.accessKey", "access key, from the environment; absent: the AWS default chain (environment, profile, instance role)");
    d.put("s3.secretKey", "secret key, from the environment");
    d.put("s3.caFile", "PEM file of the CA that signed an `https` endpoint's certificate (a private CA); absent: the JDK's CAs");
    d.put("table", "the table, `namespace.table`");
    d.put("commitInterval", "readings handed off (acked) are committed this often, one snapshot for all partitions (without a hand-off: buffered readings wait at most this long): the freshness of the table against the number of snapshots");
    d.put("minCommitSpacing", "the runtime's clock for the lake ticks this often (default 1s, at most `commitInterval`): each tick hands off what is buffered (Parquet files and a stage record, acked then), as does a partition holding half its prefetch at once; no two commits closer than this (on storage that cannot list, where readings are acked at the commit, this bounds the snapshots an early commit makes)");
    d.put("flushRows", "an early commit once this many readings are buffered");
    d.put("maintenance.every", "the role's upkeep round (retention by `storage.retention`, compaction, snapshot expiry, orphan removal) runs this often on each lake instance; `0s`: never (upkeep by your own engine)");
    d.put("maintenance.compactMinFiles", "an event day with at least this many files is merged into one file sorted by `(device_id, seq)`");
    d.put("maintenance.compactMaxRows", "at most this many rows merged per day and round (sorted in memory)");
    d.put("maintenance.keepSnapshots", "snapshots younger than this are kept: how far back `--as-of` and other engines' time travel reach");
    d.put("maintenance.partitionIdleLimit", "a partition that has not committed for this long no longer holds back expiry of its last snapshot");
    d.put("maintenance.orphanAge", "objects under the table that no snapshot references are deleted once older than this (younger ones may be an upload in flight)");
    d.put("flushBytes", "... or about this many bytes of heap (" + ConfigUnits.formatBytes(64L << 20) + " by default)");
    return d;
  }
}
