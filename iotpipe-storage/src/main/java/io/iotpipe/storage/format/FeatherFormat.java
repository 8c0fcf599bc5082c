package io.iotpipe.storage.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliTZVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.compression.CompressionUtil;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.message.IpcOption;

/**
 * Feather v2 (Arrow IPC file) with ZSTD buffers, readable by {@code pyarrow.feather.read_table},
 * {@code pandas.read_feather} and polars. Timestamps are {@code timestamp[ms, tz=UTC]}. Metrics outside the
 * configuration are kept as a JSON object string in {@code extra_metrics} (a map type would be more exact, but
 * several Feather readers still mishandle nested maps); the reading's {@code attributes} likewise.
 */
public final class FeatherFormat implements FormatWriter {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final BufferAllocator ROOT = new RootAllocator();
  private final StoreSchema schema;

  public FeatherFormat(StoreSchema schema) {
    this.schema = schema;
  }

  @Override
  public String extension() {
    return "arrow";
  }

  @Override
  public long write(Path file, List<Telemetry> rows, long ingestMillis) throws IOException {
    int n = rows.size();
    try (BufferAllocator alloc = ROOT.newChildAllocator("feather", 0, Long.MAX_VALUE)) {
      TimeStampMilliTZVector ts = new TimeStampMilliTZVector("ts", alloc, "UTC");
      VarCharVector device = new VarCharVector("device_id", alloc);
      BigIntVector seq = new BigIntVector("seq", alloc);
      VarCharVector site = new VarCharVector("site", alloc);
      VarCharVector region = new VarCharVector("region", alloc);
      VarCharVector status = new VarCharVector("status", alloc);
      VarCharVector error = new VarCharVector("error_code", alloc);
      List<Float8Vector> metrics = new ArrayList<>();
      for (String m : schema.metrics()) {
        metrics.add(new Float8Vector(m, alloc));
      }
      VarCharVector extra = new VarCharVector("extra_metrics", alloc);
      TimeStampMilliTZVector ingest = new TimeStampMilliTZVector("ingest_ts", alloc, "UTC");
      VarCharVector attributes = new VarCharVector("attributes", alloc);
      TimeStampMilliTZVector deviceTs = new TimeStampMilliTZVector("device_ts", alloc, "UTC");
      BitVector clockAhead = new BitVector("clock_ahead", alloc);
      VarCharVector tenant = new VarCharVector("tenant", alloc);
      List<FieldVector> all = new ArrayList<>(List.of(ts, device, seq, site, region, status, error));
      all.addAll(metrics);
      all.add(extra);
      all.add(ingest);
      all.addAll(List.of(attributes, deviceTs, clockAhead, tenant));
      all.forEach(v -> v.setInitialCapacity(n));
      all.forEach(FieldVector::allocateNew);
      for (int i = 0; i < n; i++) {
        Telemetry t = rows.get(i);
        ts.setSafe(i, t.ts().toEpochMilli());
        setString(device, i, t.deviceId());
        seq.setSafe(i, t.seq());
        setString(site, i, t.site());
        setString(region, i, t.region());
        setString(status, i, t.status());
        setString(error, i, t.errorCode());
        for (int m = 0; m < metrics.size(); m++) {
          Double v = t.metrics().get(schema.metrics().get(m));
          if (v == null) {
            metrics.get(m).setNull(i);
          } else {
            metrics.get(m).setSafe(i, v);
          }
        }
        Map<String, Double> ex = schema.extras(t);
        setString(extra, i, ex.isEmpty() ? null : JSON.writeValueAsString(ex));
        ingest.setSafe(i, ingestMillis);
        setString(attributes, i, t.attributes().isEmpty() ? null : JSON.writeValueAsString(t.attributes()));
        if (t.deviceTs() == null) {
          deviceTs.setNull(i);
        } else {
          deviceTs.setSafe(i, t.deviceTs().toEpochMilli());
        }
        clockAhead.setSafe(i, t.clockAhead() ? 1 : 0);
        setString(tenant, i, t.tenant());
      }
      try (VectorSchemaRoot root = new VectorSchemaRoot(all);
           FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
           ArrowFileWriter w = new ArrowFileWriter(root, null, ch, Map.of(), IpcOption.DEFAULT,
               CommonsCompressionFactory.INSTANCE, CompressionUtil.CodecType.ZSTD)) {
        root.setRowCount(n);
        w.start();
        w.writeBatch();
        w.end();
        return ch.size();
      }
    }
  }

  private static void setString(VarCharVector v, int i, String s) {
    if (s == null) {
      v.setNull(i);
    } else {
      v.setSafe(i, s.getBytes(StandardCharsets.UTF_8));
    }
  }
}
