package io.iotpipe.runtime.consume;

import com.rabbitmq.client.Channel;
import java.io.IOException;

/**
 * One queue consumed on one channel. Delivery tags are scoped to a channel: once the channel is gone, the broker has
 * already requeued everything unacked on it, so acks for its tags are dropped here rather than sent to a newer
 * channel where the same tag number means another message.
 */
final class Subscription implements Source {
  final String queue;
  final Channel channel;
  private volatile boolean alive = true;
  private final int maxWaitingAcks;

  /** @param prefetch the channel's prefetch: held-back acks may use up to half of it */
  Subscription(String queue, Channel channel, int prefetch) {
    this.queue = queue;
    this.channel = channel;
    this.maxWaitingAcks = Math.max(MIN_WAITING_ACKS, prefetch / 2);
  }

  @Override
  public String queue() {
    return queue;
  }

  @Override
  public boolean alive() {
    return alive && channel.isOpen();
  }

  void kill() {
    alive = false;
  }

  /** Deliveries received and not yet acked, by tag (guarded by this). */
  private final java.util.TreeSet<Long> outstanding = new java.util.TreeSet<>();
  /** Settled deliveries whose ack waits for a lower tag (guarded by this). */
  private final java.util.HashSet<Long> ready = new java.util.HashSet<>();

  /**
   * Acks may wait for a lower tag until half the prefetch waits (at least this many); then they are sent one by one.
   * Half the prefetch, not a small constant: settlements arrive out of order in normal operation (a consumer batch
   * spans partitions, and completes when its slowest partition's file commits), and with a constant of 256 most acks
   * of the storage path went out singly, costing the broker 3.4x the CPU of the ack-only baseline (measured with
   * {@code bench store}). Half the prefetch still leaves the broker room to deliver while a retried record waits.
   */
  static final int MIN_WAITING_ACKS = 256;

  /** Records a delivery, so that acks can be coalesced. */
  synchronized void track(long tag) {
    outstanding.add(tag);
  }

  /**
   * Acks one delivery; returns false when the channel is gone (the broker redelivers the message).
   * Callers settling many at once use {@link #ack(java.util.Collection)}: acking one by one in order sends a frame each.
   *
   * <p>Acks are coalesced: when every delivery up to a tag is settled, one {@code basic.ack(multiple=true)} covers
   * them all. A sink that commits thousands of rows at once (a file) would otherwise send thousands of ack frames in
   * a burst, and the broker spent three times the CPU of the ack-only baseline on them. A delivery still being
   * retried holds back the acks above it only until half the prefetch waits; then they go out one by one, so
   * a slow record never exhausts the prefetch. If the channel dies meanwhile, the unacked ones are redelivered and
   * the sinks' idempotence absorbs them.
   */
  boolean ack(long tag) {
    return ack(java.util.List.of(tag));
  }

  /** Acks settled deliveries of this channel together: one frame for every run that became contiguous. */
  @Override
  public boolean ack(java.util.Collection<Long> tags) {
    synchronized (this) {
      if (!alive()) {
        return false;
      }
      ready.addAll(tags);
      long upTo = -1;
      while (!outstanding.isEmpty() && ready.remove(outstanding.first())) {
        upTo = outstanding.pollFirst();
      }
      try {
        if (upTo > 0) {
          channel.basicAck(upTo, true);
        }
        if (ready.size() >= maxWaitingAcks) {
          for (long t : ready) {
            channel.basicAck(t, false);
            outstanding.remove(t);
          }
          ready.clear();
        }
        return true;
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }
  }
}
