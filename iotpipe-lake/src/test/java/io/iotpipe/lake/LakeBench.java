package io.iotpipe.lake;

import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * Rows per second through {@link LakeSink} into a real S3 server and catalog, run in its own JVM (the caller picks
 * the heap): readings arrive in batches of one partition as the runtime hands them, and the loop flushes whenever
 * the sink says its budget is reached, as the runtime will. Prints one JSON line.
 *
 * <p>Arguments: catalogUri warehouse endpoint accessKey secretKey rows partitions batch flushRows
 */
public final class LakeBench {

  public static void main(String[] a) throws Exception {
    LakeCatalog settings = new LakeCatalog(a[0], null, null, a[1], a[2], true, "us-east-1", a[3], a[4]);
    int rows = Integer.parseInt(a[5]);
    int partitions = Integer.parseInt(a[6]);
    int batch = Integer.parseInt(a[7]);
    long flushRows = Long.parseLong(a[8]);
    // "memory": Iceberg's in-memory catalog and FileIO, to tell the writer's own cost from the store's and catalog's
    Catalog catalog;
    if (a[0].equals("memory")) {
      var mem = new org.apache.iceberg.inmemory.InMemoryCatalog();
      mem.initialize("mem", Map.of());
      catalog = mem;
    } else {
      catalog = settings.open();
    }
    TableIdentifier id = TableIdentifier.of(Namespace.of("bench"), "t" + System.nanoTime());
    ((SupportsNamespaces) catalog).createNamespace(id.namespace());
    List<String> metrics = List.of("powerKw", "energyKwh", "soc", "tempC", "voltageV", "currentA");
    Table table = new TelemetryTable(metrics).createOrLoad(catalog, id);
    LakeSink sink = new LakeSink("lake", table, flushRows, 1L << 30);

    int devicesPerPartition = 250;
    long[] seq = new long[partitions * devicesPerPartition];
    Instant t0 = Instant.parse("2026-12-07T08:00:00Z");
    List<CompletableFuture<List<Outcome>>> stages = new ArrayList<>();
    int commits = 0;
    long commitNanos = 0;
    long start = System.nanoTime();
    int produced = 0;
    int p = 0;
    while (produced < rows) {
      List<SinkRecord> b = new ArrayList<>(batch);
      String source = "storage.p" + p;
      for (int i = 0; i < batch && produced < rows; i++, produced++) {
        int d = p * devicesPerPartition + (i % devicesPerPartition);
        long s = ++seq[d];
        Telemetry t = new Telemetry("evc-" + d, s, t0.plusMillis(s * 10_000 + d), "site-" + (d % 20), "eu-west", "CHARGING",
            null, Map.of("powerKw", 7.2 + (s % 10), "energyKwh", s * 0.02, "soc", 40.0 + s % 60, "tempC", 21.5,
                "voltageV", 400.0, "currentA", 16.0));
        b.add(new SinkRecord(t, t.id().getBytes(StandardCharsets.UTF_8), source, 0));
      }
      stages.add(sink.write(b).toCompletableFuture());
      if (sink.flushDue()) {
        long c = System.nanoTime();
        sink.flush();
        commitNanos += System.nanoTime() - c;
        commits++;
      }
      p = (p + 1) % partitions;
    }
    long c = System.nanoTime();
    sink.flush();
    commitNanos += System.nanoTime() - c;
    long delivered = 0;
    for (CompletableFuture<List<Outcome>> s : stages) {
      delivered += s.join().stream().filter(o -> o instanceof Outcome.Delivered).count();
    }
    double secs = (System.nanoTime() - start) / 1e9;
    table.refresh();
    int snapshots = 0;
    for (var ignored : table.snapshots()) {
      snapshots++;
    }
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf("{\"rows\":%d,\"delivered\":%d,\"seconds\":%.2f,\"rowsPerSecond\":%.0f,\"snapshots\":%d,"
            + "\"flushes\":%d,\"flushSeconds\":%.2f,\"maxHeapMiB\":%d,\"peakHeapPoolsMiB\":%d}%n",
        rows, delivered, secs, rows / secs, snapshots, commits, commitNanos / 1e9, Runtime.getRuntime().maxMemory() >> 20, peak >> 20);
    sink.close();
    if (catalog instanceof AutoCloseable ac) {
      ac.close();
    }
  }
}
