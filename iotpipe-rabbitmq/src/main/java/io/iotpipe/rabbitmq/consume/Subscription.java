package io.iotpipe.rabbitmq.consume;

import com.rabbitmq.client.Channel;
import java.io.IOException;

/**
 * One queue consumed on one channel. Delivery tags are scoped to a channel: once the channel is gone, the broker has
 * already requeued everything unacked on it, so acks for its tags are dropped here rather than sent to a newer
 * channel where the same tag number means another message.
 */
final class Subscription {
  final String queue;
  final Channel channel;
  private volatile boolean alive = true;

  Subscription(String queue, Channel channel) {
    this.queue = queue;
    this.channel = channel;
  }

  boolean alive() {
    return alive && channel.isOpen();
  }

  void kill() {
    alive = false;
  }

  /** Deliveries received and not yet acked, by tag (guarded by this). */
  private final java.util.TreeSet<Long> outstanding = new java.util.TreeSet<>();
  /** Settled deliveries whose ack waits for a lower tag (guarded by this). */
  private final java.util.HashSet<Long> ready = new java.util.HashSet<>();

  /** Above this many waiting acks (a lower tag is being retried), they are sent one by one instead. */
  static final int MAX_WAITING_ACKS = 256;

  /** Records a delivery, so that acks can be coalesced. */
  synchronized void track(long tag) {
    outstanding.add(tag);
  }

  /**
   * Acks one delivery; returns false when the channel is gone (the broker redelivers the message).
   *
   * <p>Acks are coalesced: when every delivery up to a tag is settled, one {@code basic.ack(multiple=true)} covers
   * them all. A sink that commits thousands of rows at once (a file) would otherwise send thousands of ack frames in
   * a burst, and the broker spent three times the CPU of the ack-only baseline on them. A delivery still being
   * retried holds back the acks above it only until {@link #MAX_WAITING_ACKS} wait; then they go out one by one, so
   * a slow record never exhausts the prefetch. If the channel dies meanwhile, the unacked ones are redelivered and
   * the sinks' idempotence absorbs them.
   */
  boolean ack(long tag) {
    synchronized (this) {
      if (!alive()) {
        return false;
      }
      ready.add(tag);
      long upTo = -1;
      while (!outstanding.isEmpty() && ready.remove(outstanding.first())) {
        upTo = outstanding.pollFirst();
      }
      try {
        if (upTo > 0) {
          channel.basicAck(upTo, true);
        }
        if (ready.size() >= MAX_WAITING_ACKS) {
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
