package io.iotpipe.runtime.consume;

import java.util.Collection;

/**
 * Where a delivery came from: one queue consumed on one channel. Delivery tags are only valid on their channel, so
 * every ack goes back through the source that produced the delivery (see {@link Subscription}). An interface so that
 * the batching and settlement logic is tested without a broker.
 */
interface Source {

  /** The queue (partition) name. */
  String queue();

  /** False once the channel is gone: the broker has requeued its unacked messages. */
  boolean alive();

  /** Acks settled deliveries; false when the channel is gone (the broker will redeliver them). */
  boolean ack(Collection<Long> tags);
}
