package io.iotpipe.storage.format;

import io.iotpipe.core.envelope.Telemetry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The columns of every stored file, in order: {@code ts} (UTC timestamp, millis), {@code device_id}, {@code seq},
 * {@code site}, {@code region}, {@code status}, {@code error_code}, one double column per configured metric, then
 * {@code extra_metrics} (a map of metrics not in the configuration: a new sensor field is kept, never dropped) and
 * {@code ingest_ts}, then the contract's decisions: {@code attributes} (the unknown fields kept, name to text),
 * {@code device_ts} (the device's time when {@code ts} was replaced by the receive time) and {@code clock_ahead}, and
 * {@code tenant} (the device's tenant from the tenant registry; null, or empty in HDF5, for none). The
 * hive directories add {@code date} and {@code hour}.
 */
public record StoreSchema(List<String> metrics) {

  public StoreSchema {
    metrics = List.copyOf(metrics);
  }

  /** Metrics of a reading that have no column of their own. */
  public Map<String, Double> extras(Telemetry t) {
    if (t.metrics().isEmpty()) {
      return Map.of();
    }
    Set<String> known = Set.copyOf(metrics);
    Map<String, Double> extra = new LinkedHashMap<>();
    t.metrics().forEach((k, v) -> {
      if (!known.contains(k)) {
        extra.put(k, v);
      }
    });
    return extra;
  }
}
