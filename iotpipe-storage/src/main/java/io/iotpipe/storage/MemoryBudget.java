package io.iotpipe.storage;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The bytes of rows the store may hold in open files and commits in progress, all partitions together: RabbitMQ's
 * prefetch counts messages only, so without a byte bound a fleet of large readings would pile up here. Writers
 * {@link #hold} what they buffer and wait in {@link #awaitRoom} while the budget is spent; commits {@link #release}.
 */
final class MemoryBudget {

  private final long limit;
  private final AtomicLong held = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();

  MemoryBudget(long limit, MeterRegistry registry) {
    this.limit = limit;
    registry.gauge("iotpipe.storage.held.bytes", held);
  }

  long limit() {
    return limit;
  }

  boolean spent() {
    return held.get() >= limit;
  }

  void hold(long n) {
    peak.accumulateAndGet(held.addAndGet(n), Math::max);
  }

  void release(long n) {
    if (held.addAndGet(-n) < limit) {
      synchronized (held) {
        held.notifyAll();
      }
    }
  }

  /**
   * Waits while the budget is spent, after asking for commits ({@code makeRoom}). Commits always end (delivered or
   * retry), so the wait does too; the time bound is a guard only, and {@code stopped} ends it at shutdown.
   */
  void awaitRoom(Runnable makeRoom, BooleanSupplier stopped) {
    if (!spent()) {
      return;
    }
    makeRoom.run();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    synchronized (held) {
      while (spent() && System.nanoTime() < deadline && !stopped.getAsBoolean()) {
        try {
          held.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Highest bytes held at once (for tests). */
  long peak() {
    return peak.get();
  }
}
