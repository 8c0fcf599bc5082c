package io.iotpipe.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.LocationProvider;

/**
 * The catalog's table operations with faults at the swap: before it (the database unreachable: nothing swapped), or
 * after it with the answer lost ({@code CommitStateUnknownException} although the swap happened).
 */
final class FaultyOperations implements TableOperations {

  private final TableOperations delegate;
  private final Faults faults;

  private FaultyOperations(TableOperations delegate, Faults faults) {
    this.delegate = delegate;
    this.faults = faults;
  }

  static Table wrap(Table table, Faults faults) {
    return new BaseTable(new FaultyOperations(((HasTableOperations) table).operations(), faults), table.name());
  }

  @Override
  public TableMetadata current() {
    faults.checkAlive();
    return delegate.current();
  }

  @Override
  public TableMetadata refresh() {
    faults.checkAlive();
    return delegate.refresh();
  }

  @Override
  public void commit(TableMetadata base, TableMetadata metadata) {
    try {
      faults.at(Faults.Step.CATALOG_SWAP);
    } catch (IOException e) {
      throw new UncheckedIOException("catalog unreachable", e);
    }
    delegate.commit(base, metadata);
    try {
      faults.at(Faults.Step.SWAP_ANSWER_LOST);
    } catch (IOException e) {
      throw new CommitStateUnknownException(e);
    }
  }

  @Override
  public FileIO io() {
    return delegate.io();
  }

  @Override
  public String metadataFileLocation(String fileName) {
    return delegate.metadataFileLocation(fileName);
  }

  @Override
  public LocationProvider locationProvider() {
    return delegate.locationProvider();
  }

  @Override
  public TableOperations temp(TableMetadata uncommittedMetadata) {
    return delegate.temp(uncommittedMetadata);
  }

  @Override
  public long newSnapshotId() {
    return delegate.newSnapshotId();
  }
}
