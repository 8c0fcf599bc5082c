package io.iotpipe.lake;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.LocationProvider;
import org.apache.iceberg.io.OutputFile;

/** A table whose first data-file write waits for a latch: to act while a commit is in its I/O (unit tests). */
final class BlockingTable {

  private BlockingTable() {}

  static Table wrap(Table table, CountDownLatch entered, CountDownLatch release) {
    TableOperations ops = ((HasTableOperations) table).operations();
    FileIO io = new FileIO() {
      @Override
      public InputFile newInputFile(String path) {
        return ops.io().newInputFile(path);
      }

      @Override
      public OutputFile newOutputFile(String path) {
        if (path.contains("/data/") && entered.getCount() > 0) {
          entered.countDown();
          try {
            if (!release.await(60, TimeUnit.SECONDS)) {
              throw new IllegalStateException("never released");
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
        }
        return ops.io().newOutputFile(path);
      }

      @Override
      public void deleteFile(String path) {
        ops.io().deleteFile(path);
      }
    };
    TableOperations blocking = new TableOperations() {
      @Override
      public TableMetadata current() {
        return ops.current();
      }

      @Override
      public TableMetadata refresh() {
        return ops.refresh();
      }

      @Override
      public void commit(TableMetadata base, TableMetadata metadata) {
        ops.commit(base, metadata);
      }

      @Override
      public FileIO io() {
        return io;
      }

      @Override
      public String metadataFileLocation(String fileName) {
        return ops.metadataFileLocation(fileName);
      }

      @Override
      public LocationProvider locationProvider() {
        return ops.locationProvider();
      }
    };
    return new BaseTable(blocking, table.name());
  }
}
