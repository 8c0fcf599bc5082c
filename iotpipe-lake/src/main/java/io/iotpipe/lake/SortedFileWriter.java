package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.io.OutputFileFactory;

/**
 * Writes rows as the table wants its data files: one Parquet file per event day (the partition), rows sorted by
 * {@code (device_id, seq)} (the table's sort order, so every file has tight statistics on {@code device_id}), with the
 * table's properties (zstd). Used by the sink for each commit and by compaction for each rewrite.
 */
final class SortedFileWriter {

  static final Comparator<Record> ORDER = Comparator.comparing((Record r) -> (String) r.getField("device_id"))
      .thenComparingLong(r -> (Long) r.getField("seq"));

  private SortedFileWriter() {}

  /**
   * @param operationId unique per call (a commit id): it names the files, so two calls never write the same object
   */
  static List<DataFile> write(Table table, Schema schema, List<Record> rows, String operationId) {
    Map<Long, List<Record>> byDay = new TreeMap<>();
    for (Record r : rows) {
      long day = ((OffsetDateTime) r.getField("ts")).atZoneSameInstant(ZoneOffset.UTC).toLocalDate().toEpochDay();
      byDay.computeIfAbsent(day, d -> new ArrayList<>()).add(r);
    }
    GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).dataFileFormat(FileFormat.PARQUET)
        .dataSchema(schema).dataSortOrder(table.sortOrder()).build();
    OutputFileFactory files = OutputFileFactory.builderFor(table, 0, 0).format(FileFormat.PARQUET).operationId(operationId).build();
    InternalRecordWrapper wrapper = new InternalRecordWrapper(schema.asStruct());
    PartitionKey partitionKey = new PartitionKey(table.spec(), schema);
    List<DataFile> out = new ArrayList<>();
    for (List<Record> day : byDay.values()) {
      day.sort(ORDER);
      partitionKey.partition(wrapper.wrap(day.get(0)));
      PartitionKey key = partitionKey.copy();
      DataWriter<Record> w = factory.newDataWriter(files.newOutputFile(table.spec(), key), table.spec(), key);
      try (w) {
        day.forEach(w::write);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write a data file: " + e.getMessage(), e);
      }
      out.add(w.toDataFile());
    }
    return out;
  }
}
