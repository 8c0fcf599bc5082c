package io.iotpipe.simulator;

import io.iotpipe.core.envelope.Telemetry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiFunction;
import java.util.stream.Collectors;

/**
 * An edge that answers each publish attempt as {@code verdict} says: {@code null} confirms it, a text fails it with
 * that message (the simulator classifies "nacked" and "unroutable" as the real publisher words them). Answers come on
 * another thread, as the AMQP client's confirms do.
 */
final class FakeTransport implements Transport {

  /** One publish attempt as the edge saw it. */
  record Attempt(String deviceId, long seq, byte[] body, boolean confirmed) {}

  private final BiFunction<Telemetry, Integer, String> verdict;
  private final List<Attempt> attempts = new ArrayList<>();
  private final Map<String, Integer> tries = new java.util.HashMap<>();
  private final ExecutorService edge = Executors.newSingleThreadExecutor();

  /** @param verdict (reading, attempt number of this reading starting at 1) -> null to confirm, or a failure */
  FakeTransport(BiFunction<Telemetry, Integer, String> verdict) {
    this.verdict = verdict;
  }

  static FakeTransport confirmingAll() {
    return new FakeTransport((t, n) -> null);
  }

  @Override
  public CompletableFuture<Void> send(Telemetry t, byte[] body) {
    String failure;
    synchronized (this) {
      int n = tries.merge(t.id(), 1, Integer::sum);
      failure = verdict.apply(t, n);
      attempts.add(new Attempt(t.deviceId(), t.seq(), body.clone(), failure == null));
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    edge.execute(() -> {
      if (failure != null) {
        f.completeExceptionally(new IOException(failure)); // as ConfirmingPublisher fails its futures
      } else {
        f.complete(null);
      }
    });
    return f;
  }

  synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  /** Attempts per device, in the order they were made. */
  synchronized Map<String, List<Attempt>> byDevice() {
    return attempts.stream().collect(Collectors.groupingBy(Attempt::deviceId, java.util.LinkedHashMap::new, Collectors.toList()));
  }

  @Override
  public void close() {
    edge.shutdownNow();
  }
}
