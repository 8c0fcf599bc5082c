package io.iotpipe.storage.format;

import io.iotpipe.core.config.StorageConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes one batch of rows as one file of a format. Every format writes the same columns (see
 * {@link StoreSchema}); the storage sink takes care of temp names, fsync and the commit.
 */
public interface FormatWriter {

  /** File name extension, e.g. {@code parquet}. */
  String extension();

  /** Writes {@code rows} to {@code file} (a hidden temp file) and returns its size in bytes. */
  long write(Path file, List<Telemetry> rows, long ingestMillis) throws IOException;

  static FormatWriter of(StorageConfig.Format f, StoreSchema schema) {
    return switch (f) {
      case PARQUET -> new ParquetFormat(schema);
      case JSONL -> new JsonLinesFormat(schema);
      case FEATHER -> new FeatherFormat(schema);
      case HDF5 -> new Hdf5Format(schema);
    };
  }
}
