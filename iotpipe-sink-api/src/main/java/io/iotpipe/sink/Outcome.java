package io.iotpipe.sink;

/**
 * What became of one record handed to a {@link Sink}. The consumer loop turns each outcome into exactly one broker
 * action, so the sink never touches acknowledgements itself:
 * <ul>
 *   <li>{@link Delivered}: the sink made the record durable; the message is acked.</li>
 *   <li>{@link Retry}: a transient failure (engine overloaded, disk full, connection refused); the message stays
 *       unacked and is offered again after a bounded exponential backoff.</li>
 *   <li>{@link Reject}: the record can never succeed (mapping conflict, value the sink cannot represent); it is
 *       published to the dead-letter queue with the reason, then acked, so it never blocks the queue.</li>
 * </ul>
 */
public sealed interface Outcome {

  Outcome DELIVERED = new Delivered();

  record Delivered() implements Outcome {}

  record Retry(String reason) implements Outcome {}

  record Reject(String reason) implements Outcome {}

  static Outcome retry(String reason) {
    return new Retry(reason);
  }

  static Outcome reject(String reason) {
    return new Reject(reason);
  }
}
