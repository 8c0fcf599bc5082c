package io.iotpipe.runtime.forward;

import io.iotpipe.core.envelope.ReadingBatch;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The forwarder's open batches, one per cloud partition: a reading joins its device's partition's batch, which
 * closes when it holds {@code maxReadings}, when the next reading would take it past {@code maxBytes}, or when its
 * oldest reading waited {@code linger}. One device always maps to one partition and a partition's batches close in
 * order, so a device's readings stay in order. Not thread-safe: the forwarder guards it.
 */
final class PartitionBatches {

  /** A closed batch: its partition, its readings in order and the edge delivery tags they came with. */
  record Closed(int partition, List<ReadingBatch.Entry> entries, List<Long> edgeTags, long bytes) {}

  private final int partitions;
  private final long lingerNanos;
  private final int maxReadings;
  private final long maxBytes;
  private final Open[] open;

  private static final class Open {
    final List<ReadingBatch.Entry> entries = new ArrayList<>();
    final List<Long> tags = new ArrayList<>();
    long bytes = ReadingBatch.HEADER;
    long firstAt;
  }

  PartitionBatches(int partitions, java.time.Duration linger, int maxReadings, long maxBytes) {
    this.partitions = partitions;
    this.lingerNanos = linger.toNanos();
    this.maxReadings = maxReadings;
    this.maxBytes = maxBytes;
    this.open = new Open[partitions];
  }

  /**
   * The partition of a reading published under {@code routingKey} ({@code telemetry.<deviceId>}): CRC-32 of the key
   * modulo the partition count. Not the hash exchange's {@code erlang:phash2}, so in {@code batch} mode a device may
   * sit in another partition than in {@code shovel} mode: switching modes is a drain-then-switch migration, like
   * changing the partition count.
   */
  static int partitionOf(String routingKey, int partitions) {
    CRC32 crc = new CRC32();
    crc.update(routingKey.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % partitions);
  }

  /** Adds a reading; returns the batches this closed (the partition's previous one when it would not fit, this one when full). */
  List<Closed> add(ReadingBatch.Entry e, long edgeTag, long nowNanos) {
    int p = partitionOf(e.routingKey(), partitions);
    List<Closed> out = new ArrayList<>(2);
    Open o = open[p];
    if (o != null && o.bytes + e.encodedSize() > maxBytes) {
      out.add(close(p));
      o = null;
    }
    if (o == null) {
      o = open[p] = new Open();
      o.firstAt = nowNanos;
    }
    o.entries.add(e);
    o.tags.add(edgeTag);
    o.bytes += e.encodedSize();
    // A reading larger than maxBytes on its own travels alone rather than never.
    if (o.entries.size() >= maxReadings || o.bytes >= maxBytes) {
      out.add(close(p));
    }
    return out;
  }

  /** The batches whose oldest reading waited {@code linger} by {@code nowNanos}. */
  List<Closed> due(long nowNanos) {
    List<Closed> out = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      if (open[p] != null && nowNanos - open[p].firstAt >= lingerNanos) {
        out.add(close(p));
      }
    }
    return out;
  }

  /** Every open batch (at shutdown). */
  List<Closed> all() {
    List<Closed> out = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      if (open[p] != null) {
        out.add(close(p));
      }
    }
    return out;
  }

  private Closed close(int p) {
    Open o = open[p];
    open[p] = null;
    return new Closed(p, List.copyOf(o.entries), List.copyOf(o.tags), o.bytes);
  }
}
