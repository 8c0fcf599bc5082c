package io.iotpipe.storage.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.envelope.Telemetry;
import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.WritableDataset;
import io.jhdf.api.WritableGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * HDF5 via jHDF, one file per committed batch (jHDF writes whole datasets at close; HDF5 has no cheap append
 * without the native library). A group {@code telemetry} holds one 1-D dataset per column; {@code ts} and
 * {@code ingest_ts} are int64 epoch milliseconds UTC, said so in a {@code units} attribute (HDF5 has no timestamp
 * type: {@code pd.to_datetime(ts, unit="ms", utc=True)} reads it right). Missing metric values are NaN.
 */
public final class Hdf5Format implements FormatWriter {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final StoreSchema schema;

  public Hdf5Format(StoreSchema schema) {
    this.schema = schema;
  }

  @Override
  public String extension() {
    return "h5";
  }

  @Override
  public long write(Path file, List<Telemetry> rows, long ingestMillis) throws IOException {
    int n = rows.size();
    long[] ts = new long[n];
    long[] seq = new long[n];
    long[] ingest = new long[n];
    String[] device = new String[n];
    String[] site = new String[n];
    String[] region = new String[n];
    String[] status = new String[n];
    String[] error = new String[n];
    String[] extra = new String[n];
    String[] attributes = new String[n];
    long[] deviceTs = new long[n];
    byte[] clockAhead = new byte[n];
    String[] tenant = new String[n];
    double[][] metrics = new double[schema.metrics().size()][n];
    for (int i = 0; i < n; i++) {
      Telemetry t = rows.get(i);
      ts[i] = t.ts().toEpochMilli();
      seq[i] = t.seq();
      ingest[i] = ingestMillis;
      device[i] = t.deviceId();
      site[i] = nz(t.site());
      region[i] = nz(t.region());
      status[i] = nz(t.status());
      error[i] = nz(t.errorCode());
      Map<String, Double> ex = schema.extras(t);
      extra[i] = ex.isEmpty() ? "" : JSON.writeValueAsString(ex);
      attributes[i] = t.attributes().isEmpty() ? "" : JSON.writeValueAsString(t.attributes());
      deviceTs[i] = t.deviceTs() == null ? ts[i] : t.deviceTs().toEpochMilli(); // HDF5 has no null: the device's time is ts then
      clockAhead[i] = (byte) (t.clockAhead() ? 1 : 0);
      tenant[i] = nz(t.tenant());
      for (int m = 0; m < metrics.length; m++) {
        Double v = t.metrics().get(schema.metrics().get(m));
        metrics[m][i] = v == null ? Double.NaN : v;
      }
    }
    try (WritableHdfFile f = HdfFile.write(file)) {
      WritableGroup g = f.putGroup("telemetry");
      WritableDataset d = g.putDataset("ts", ts);
      d.putAttribute("units", "milliseconds since 1970-01-01T00:00:00Z");
      g.putDataset("device_id", device);
      g.putDataset("seq", seq);
      g.putDataset("site", site);
      g.putDataset("region", region);
      g.putDataset("status", status);
      g.putDataset("error_code", error);
      for (int m = 0; m < metrics.length; m++) {
        g.putDataset(schema.metrics().get(m), metrics[m]);
      }
      g.putDataset("extra_metrics", extra);
      g.putDataset("ingest_ts", ingest).putAttribute("units", "milliseconds since 1970-01-01T00:00:00Z");
      g.putDataset("attributes", attributes);
      g.putDataset("device_ts", deviceTs).putAttribute("units", "milliseconds since 1970-01-01T00:00:00Z");
      g.putDataset("clock_ahead", clockAhead);
      g.putDataset("tenant", tenant);
      g.putAttribute("rows", (long) n);
    }
    return Files.size(file);
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
