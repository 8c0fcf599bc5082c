package io.iotpipe.runtime.consume;

import java.util.BitSet;
import java.util.Collection;
import java.util.List;

/**
 * The readings of one batch message ({@code topology.wan.mode: batch}), each a delivery of its own whose tag is its
 * index in the batch: the sink delivers, retries or rejects each alone, and the message itself is acked on its
 * channel only once every reading in it is settled (durable in the sink or dead-lettered). Until then it stays
 * unacked: if the channel dies first, the broker redelivers the whole batch and the sinks' {@code (deviceId, seq)}
 * idempotence absorbs the readings that had already landed.
 */
final class BatchSource implements Source {

  private final Source message;
  private final long tag;
  private final int size;
  /** Entries settled so far (guarded by this). */
  private final BitSet settled;
  private int count;

  /**
   * @param message where the batch message arrived
   * @param tag     its delivery tag there
   * @param size    readings in it
   */
  BatchSource(Source message, long tag, int size) {
    this.message = message;
    this.tag = tag;
    this.size = size;
    this.settled = new BitSet(size);
  }

  @Override
  public String queue() {
    return message.queue();
  }

  @Override
  public boolean alive() {
    return message.alive();
  }

  /** Marks entries settled; acks the message when the last one is. False when the message's channel is gone. */
  @Override
  public boolean ack(Collection<Long> entries) {
    boolean complete;
    synchronized (this) {
      if (!message.alive()) {
        return false;
      }
      for (long e : entries) {
        if (e >= 0 && e < size && !settled.get((int) e)) {
          settled.set((int) e);
          count++;
        }
      }
      complete = count == size;
      if (complete) {
        count++; // acked once, even if an entry is reported twice
      }
    }
    return !complete || message.ack(List.of(tag));
  }

  /** Readings of the batch settled so far (for tests). */
  synchronized int settled() {
    return Math.min(count, size);
  }
}
