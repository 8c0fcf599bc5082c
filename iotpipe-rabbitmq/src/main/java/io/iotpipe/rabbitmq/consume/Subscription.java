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

  /** Acks one delivery; returns false when the channel is gone (the broker redelivers the message). */
  boolean ack(long tag) {
    synchronized (this) {
      if (!alive()) {
        return false;
      }
      try {
        channel.basicAck(tag, false);
        return true;
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }
  }
}
