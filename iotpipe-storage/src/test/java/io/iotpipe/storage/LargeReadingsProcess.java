package io.iotpipe.storage;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.SinkRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * For {@link StorageLifecycleTest}: pushes 16 KB readings through a sink as fast as it accepts them, in a JVM with a
 * small heap; exits 0 when every reading was delivered (an OutOfMemoryError exits non-zero).
 */
public final class LargeReadingsProcess {

  public static void main(String[] args) throws Exception {
    Path store = Path.of(args[0]);
    int n = Integer.parseInt(args[1]);
    long t0 = System.nanoTime();
    List<CompletableFuture<List<Outcome>>> pending = new ArrayList<>();
    // An optional third argument overrides the byte budget (to see what happens without one).
    StorageSink sink = args.length > 2
        ? new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry(), CommitSteps.NONE, Long.parseLong(args[2]))
        : new StorageSink(TestStore.config(store, "parquet"), Clock.systemUTC(), new SimpleMeterRegistry());
    try (sink) {
      for (int i = 0; i < n; i += 100) {
        List<SinkRecord> batch = new ArrayList<>(100);
        for (int k = i; k < Math.min(n, i + 100); k++) {
          batch.add(StorageLifecycleTest.large("iotpipe.storage.p" + k % 8, "dev-" + k % 800, k / 800 + 1, 16));
        }
        pending.add(sink.write(batch).toCompletableFuture());
      }
      sink.flush();
    }
    long delivered = pending.stream().flatMap(f -> f.join().stream()).filter(o -> o == Outcome.DELIVERED).count();
    long peakHeap = ManagementFactory.getMemoryPoolMXBeans().stream().filter(m -> m.getType() == MemoryType.HEAP)
        .mapToLong(m -> m.getPeakUsage().getUsed()).sum();
    System.out.printf("large readings: %d of %d delivered in %.1f s, rows held at most %d MiB, heap pools' peaks %d MiB (max %d MiB)%n",
        delivered, n, (System.nanoTime() - t0) / 1e9, sink.heldPeak() >> 20, peakHeap >> 20, Runtime.getRuntime().maxMemory() >> 20);
    System.exit(delivered == n ? 0 : 1);
  }
}
