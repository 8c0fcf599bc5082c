package io.iotpipe.storage;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A second store instance in its own JVM (as a second region's store writer would be) for
 * {@link StoreUniquenessTest}: writes the shared readings through its own queue, in reverse order, and exits 0 when
 * every outcome is Delivered.
 */
public final class StoreWriterProcess {

  public static void main(String[] args) throws Exception {
    Path store = Path.of(args[0]);
    String source = args[1];
    List<SinkRecord> all = new ArrayList<>(StoreUniquenessTest.shared(source));
    Collections.reverse(all);
    int notDelivered = 0;
    try (StorageSink sink = new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry())) {
      java.nio.file.Files.createFile(Path.of(args[2])); // ready: the parent starts writing now too
      for (int i = 0; i < all.size(); i += StoreUniquenessTest.BATCH) {
        for (Outcome o : TestStore.writeAll(sink, all.subList(i, Math.min(all.size(), i + StoreUniquenessTest.BATCH)), 1000)) {
          if (o != Outcome.DELIVERED) {
            notDelivered++;
            System.err.println("not delivered: " + o);
          }
        }
      }
    }
    System.exit(notDelivered == 0 ? 0 : 1);
  }
}
