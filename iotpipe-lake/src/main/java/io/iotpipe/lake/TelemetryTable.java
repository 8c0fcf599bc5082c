package io.iotpipe.lake;

import io.iotpipe.core.envelope.Telemetry;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.SortOrder;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.UpdateSchema;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.types.Types;

/**
 * The telemetry table's shape: columns, partitioning, sort order, and the mapping of a reading to a row.
 *
 * <p>Columns as the file store has them: {@code ts} (timestamptz), {@code device_id}, {@code seq}, {@code site},
 * {@code region}, {@code status}, {@code error_code}, one double per configured metric, {@code extra_metrics} (metrics
 * without a column of their own: a new sensor field is kept, never dropped), {@code ingest_ts}. A metric added to the
 * configuration becomes a new optional column by schema evolution (old files untouched; they read it as null).
 *
 * <p>Partitioning: {@code day(ts)} only, named {@code event_day} (never like a data column: readers of the raw files
 * see Hive-style folder names as columns). Not {@code bucket(device_id)} as well: with thousands of devices per day a
 * commit would spread its rows over every bucket, multiplying the files (and S3 PUTs) per commit by the bucket count;
 * queries by device are served instead by the sort order {@code (device_id, seq)}, which gives every data file tight
 * min/max statistics on {@code device_id} so a scan for one device skips most files. Hourly partitions would do the
 * same for files per commit once commits span an hour boundary, for little gain over per-file {@code ts} statistics.
 */
public final class TelemetryTable {

  static final String PARTITION_FIELD = "event_day";
  /** The device's tenant (from the tenant registry, pseudonymised when storage.privacy asks); null for none. */
  static final String TENANT = "tenant";

  private final List<String> metrics;

  public TelemetryTable(List<String> metrics) {
    this.metrics = List.copyOf(metrics);
  }

  public List<String> metrics() {
    return metrics;
  }

  /** The schema for a new table: field ids are assigned by Iceberg at creation and kept from then on. */
  public Schema schema() {
    List<Types.NestedField> cols = new ArrayList<>();
    int id = 1;
    cols.add(Types.NestedField.required(id++, "ts", Types.TimestampType.withZone()));
    cols.add(Types.NestedField.required(id++, "device_id", Types.StringType.get()));
    cols.add(Types.NestedField.required(id++, "seq", Types.LongType.get()));
    cols.add(Types.NestedField.optional(id++, "site", Types.StringType.get()));
    cols.add(Types.NestedField.optional(id++, "region", Types.StringType.get()));
    cols.add(Types.NestedField.optional(id++, "status", Types.StringType.get()));
    cols.add(Types.NestedField.optional(id++, "error_code", Types.StringType.get()));
    for (String m : metrics) {
      cols.add(Types.NestedField.optional(id++, m, Types.DoubleType.get()));
    }
    int mapId = id++;
    int keyId = id++;
    int valueId = id++;
    cols.add(Types.NestedField.optional(mapId, "extra_metrics",
        Types.MapType.ofOptional(keyId, valueId, Types.StringType.get(), Types.DoubleType.get())));
    cols.add(Types.NestedField.required(id++, "ingest_ts", Types.TimestampType.withZone()));
    cols.add(Types.NestedField.optional(id, TENANT, Types.StringType.get()));
    return new Schema(cols);
  }

  public static PartitionSpec spec(Schema schema) {
    return PartitionSpec.builderFor(schema).day("ts", PARTITION_FIELD).build();
  }

  public static SortOrder sortOrder(Schema schema) {
    return SortOrder.builderFor(schema).asc("device_id").asc("seq").build();
  }

  /**
   * Loads the table, creating it (format v2) when it does not exist, and adds a column for every configured metric it
   * lacks. Safe when several writers start at once: a lost creation race loads the winner's table, and a schema update
   * is an optimistic commit Iceberg retries.
   */
  public Table createOrLoad(Catalog catalog, TableIdentifier id) {
    Table table;
    // REST catalogs refuse a table in a namespace not created first (a JDBC catalog only in its strict mode); checked
    // first, so a principal that may not create namespaces still works in an existing one.
    if (catalog instanceof SupportsNamespaces ns && !id.namespace().isEmpty() && !ns.namespaceExists(id.namespace())) {
      try {
        ns.createNamespace(id.namespace());
      } catch (RuntimeException e) {
        // Another writer's creation raced this one (a JDBC catalog may report it as a failed insert, not as exists).
        if (!ns.namespaceExists(id.namespace())) {
          throw e;
        }
      }
    }
    if (catalog.tableExists(id)) {
      table = catalog.loadTable(id);
    } else {
      Schema schema = schema();
      Map<String, String> props = new LinkedHashMap<>();
      props.put(TableProperties.FORMAT_VERSION, "2");
      props.put(TableProperties.PARQUET_COMPRESSION, "zstd");
      // Writers of different partitions commit into one table: a conflict is re-applied on the new metadata, so let
      // it retry for longer than Iceberg's default (4 tries) before surfacing.
      props.put(TableProperties.COMMIT_NUM_RETRIES, "50");
      props.put(TableProperties.COMMIT_MIN_RETRY_WAIT_MS, "20");
      props.put(TableProperties.COMMIT_MAX_RETRY_WAIT_MS, "2000");
      props.put(TableProperties.COMMIT_TOTAL_RETRY_TIME_MS, "600000");
      // Old metadata files are removed as new ones are written (bounded catalog history; snapshots expire separately).
      props.put(TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED, "true");
      props.put(TableProperties.METADATA_PREVIOUS_VERSIONS_MAX, "50");
      try {
        table = catalog.buildTable(id, schema).withPartitionSpec(spec(schema)).withSortOrder(sortOrder(schema))
            .withProperties(props).create();
      } catch (AlreadyExistsException raced) {
        table = catalog.loadTable(id);
      }
    }
    evolve(table);
    return table;
  }

  /** Adds a column for each configured metric the table lacks (before {@code extra_metrics}, as a new table has it). */
  void evolve(Table table) {
    Set<String> have = new HashSet<>();
    table.schema().columns().forEach(c -> have.add(c.name()));
    List<String> missing = metrics.stream().filter(m -> !have.contains(m)).toList();
    if (missing.isEmpty() && have.contains(TENANT)) {
      return;
    }
    UpdateSchema update = table.updateSchema();
    for (String m : missing) {
      update.addColumn(m, Types.DoubleType.get()).moveBefore(m, "extra_metrics");
    }
    if (!have.contains(TENANT)) {
      // a table made before tenants: the column is added at the end, null in the rows written before
      update.addColumn(TENANT, Types.StringType.get());
    }
    update.commit();
  }

  /** One row of {@code schema} (the table's current schema) for a reading. */
  public static Record toRecord(Schema schema, Telemetry t, Instant ingest) {
    GenericRecord r = GenericRecord.create(schema);
    r.setField("ts", OffsetDateTime.ofInstant(t.ts(), ZoneOffset.UTC));
    r.setField("device_id", t.deviceId());
    r.setField("seq", t.seq());
    r.setField("site", t.site());
    r.setField("region", t.region());
    r.setField("status", t.status());
    r.setField("error_code", t.errorCode());
    Map<String, Double> extra = new LinkedHashMap<>();
    t.metrics().forEach((k, v) -> {
      Types.NestedField f = schema.asStruct().field(k); // top-level columns only (a map's "key" is no metric column)
      if (f != null && f.type().equals(Types.DoubleType.get())) {
        r.setField(k, v);
      } else {
        extra.put(k, v);
      }
    });
    r.setField("extra_metrics", extra.isEmpty() ? null : extra);
    r.setField("ingest_ts", OffsetDateTime.ofInstant(ingest, ZoneOffset.UTC));
    if (schema.findField(TENANT) != null) {
      r.setField(TENANT, t.tenant());
    }
    return r;
  }

  /**
   * Whether two rows hold the same reading: every column but {@code ingest_ts} (a redelivery is ingested later).
   * Metrics compare by value wherever they are kept (a column, or {@code extra_metrics} of a row written before the
   * column existed).
   */
  public static boolean sameReading(Record a, Record b) {
    for (String c : List.of("ts", "device_id", "seq", "site", "region", "status", "error_code")) {
      if (!java.util.Objects.equals(norm(a.getField(c)), norm(b.getField(c)))) {
        return false;
      }
    }
    return metricsOf(a).equals(metricsOf(b));
  }

  /** A hash of what {@link #sameReading} compares: equal readings have equal fingerprints. */
  public static int fingerprint(Record r) {
    List<Object> values = new java.util.ArrayList<>();
    for (String c : List.of("ts", "device_id", "seq", "site", "region", "status", "error_code")) {
      values.add(norm(r.getField(c)));
    }
    values.add(metricsOf(r));
    return values.hashCode();
  }

  private static Object norm(Object v) {
    return v instanceof OffsetDateTime o ? o.toInstant() : v;
  }

  private static Map<String, Double> metricsOf(Record r) {
    Map<String, Double> m = new java.util.TreeMap<>();
    for (Types.NestedField f : r.struct().fields()) {
      if (f.type().equals(Types.DoubleType.get()) && r.getField(f.name()) != null) {
        m.put(f.name(), (Double) r.getField(f.name()));
      }
    }
    Object extra = r.getField("extra_metrics");
    if (extra instanceof Map<?, ?> e) {
      e.forEach((k, v) -> {
        if (v != null) {
          m.put(String.valueOf(k), ((Number) v).doubleValue());
        }
      });
    }
    return m;
  }
}
