package io.iotpipe.runtime.consume;

import com.rabbitmq.stream.MessageHandler;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * One partition stream while this instance is its single active consumer. The settlement contract for a stream: the
 * stored position only ever covers records the sink reported durable, so a new reader (after a crash, a handover or a
 * restart) starts right after the highest offset below which every record is settled. A record still being retried
 * holds the position back (the records above it are settled but stored only once it is); on a crash they are read
 * again and the sinks' {@code (deviceId, seq)} idempotence absorbs them.
 *
 * <p>Flow: records are reported to the stream client as processed (which grants the broker more chunks once half of
 * a chunk is processed) as soon as they arrive, as long as fewer than {@code window} (the consumer's prefetch) are
 * unsettled; beyond it, only when they are settled. So a stream delivers like a queue with that prefetch: a sink that
 * commits when half its prefetch is pending (the store) sees that many, instead of waiting for its roll age with the
 * few records a handful of chunks hold — tying every credit to durability throttled the store to a few chunks per
 * commit interval (measured in {@code bench e2e --topology streams}).
 */
final class StreamPartition implements Source {

  private final String stream;
  /** Stores a position on the broker (the consumer's {@code store}); an offset, never a count. */
  private final LongConsumer store;
  private volatile boolean alive = true;
  /** Records received and not yet settled, by offset (guarded by this). */
  private final TreeMap<Long, MessageHandler.Context> outstanding = new TreeMap<>();
  /** Unsettled records already reported processed (guarded by this). */
  private final Set<Long> credited = new HashSet<>();
  /** Unsettled records not yet reported processed, in arrival order: the window was full (guarded by this). */
  private final java.util.ArrayDeque<Long> uncredited = new java.util.ArrayDeque<>();
  private final int window;
  /** Settled records whose position waits for a lower offset (guarded by this). */
  private final Set<Long> ready = new HashSet<>();
  private long stored = -1;

  /** @param window most records reported processed while unsettled (the consumer's prefetch) */
  StreamPartition(String stream, LongConsumer store, int window) {
    this.stream = stream;
    this.store = store;
    this.window = Math.max(1, window);
  }

  @Override
  public String queue() {
    return stream;
  }

  @Override
  public boolean alive() {
    return alive;
  }

  /** This instance stopped being the partition's active consumer: its settlements no longer move the position. */
  void kill() {
    alive = false;
  }

  synchronized void track(long offset, MessageHandler.Context context) {
    outstanding.put(offset, context);
    if (credited.size() < window) {
      credited.add(offset);
      context.processed();
    } else {
      uncredited.add(offset);
    }
  }

  /** Whether every record received is settled (the sink holds none of them). */
  synchronized boolean idle() {
    return outstanding.isEmpty();
  }

  /** The highest offset stored by this instance, or -1 before any. */
  synchronized long stored() {
    return stored;
  }

  @Override
  public boolean ack(Collection<Long> offsets) {
    synchronized (this) {
      if (!alive) {
        return false;
      }
      for (long o : offsets) {
        MessageHandler.Context c = outstanding.get(o);
        if (c != null && ready.add(o) && !credited.remove(o)) {
          uncredited.remove(o);
          c.processed();
        }
      }
      while (credited.size() < window && !uncredited.isEmpty()) {
        long next = uncredited.poll();
        credited.add(next);
        outstanding.get(next).processed();
      }
      long upTo = -1;
      while (!outstanding.isEmpty() && ready.remove(outstanding.firstKey())) {
        upTo = outstanding.pollFirstEntry().getKey();
      }
      if (upTo > stored) {
        try {
          store.accept(upTo);
          stored = upTo;
        } catch (RuntimeException e) {
          // Not stored: a later settlement stores a higher position that covers this one; a crash meanwhile only
          // means these records are read again.
          return true;
        }
      }
      return true;
    }
  }
}
