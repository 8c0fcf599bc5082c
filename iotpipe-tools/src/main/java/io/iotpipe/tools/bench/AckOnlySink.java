package io.iotpipe.tools.bench;

import io.iotpipe.sink.Outcome;
import io.iotpipe.sink.Sink;
import io.iotpipe.sink.SinkRecord;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A sink that reports every record delivered at once. Running the real consumer loop with it measures "the broker
 * alone" (consume, decode, ack) — the baseline the benchmarks put next to the real sinks.
 */
final class AckOnlySink implements Sink {
  private final String name;

  AckOnlySink(String name) {
    this.name = name;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public CompletionStage<List<Outcome>> write(List<SinkRecord> batch) {
    return CompletableFuture.completedFuture(Collections.nCopies(batch.size(), Outcome.DELIVERED));
  }

  @Override
  public void close() {}
}
