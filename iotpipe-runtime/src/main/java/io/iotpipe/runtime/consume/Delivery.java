package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import io.iotpipe.sink.SinkRecord;

/**
 * One message taken from a queue and not yet settled.
 *
 * @param source        the channel it arrived on; its delivery tag is only valid there
 * @param tag           delivery tag on that channel
 * @param routingKey    the routing key the publisher used (identity is checked against it)
 * @param properties    the original AMQP properties (copied to the dead-letter queue)
 * @param body          the original body
 * @param record        the decoded reading, or null when the message failed the contract
 * @param invalidReason why it failed the contract or identity check, or null
 * @param failures      how many times the sink failed it so far
 * @param firstFailure  epoch millis of its first failure, 0 before any
 * @param lastFailure   epoch millis of its latest failure, 0 before any
 * @param lastError     the last failure's reason, or null
 */
record Delivery(Source source, long tag, String routingKey, AMQP.BasicProperties properties, byte[] body,
                SinkRecord record, String invalidReason, int failures, long firstFailure, long lastFailure, String lastError) {

  static Delivery valid(Source source, long tag, String routingKey, AMQP.BasicProperties props, byte[] body, SinkRecord r) {
    return new Delivery(source, tag, routingKey, props, body, r, null, 0, 0, 0, null);
  }

  static Delivery invalid(Source source, long tag, String routingKey, AMQP.BasicProperties props, byte[] body, String why) {
    return new Delivery(source, tag, routingKey, props, body, null, why, 0, 0, 0, null);
  }

  /** This delivery after one more failure at {@code now}. */
  Delivery failed(String reason, long now) {
    return new Delivery(source, tag, routingKey, properties, body, record, invalidReason, failures + 1,
        firstFailure == 0 ? now : firstFailure, now, reason);
  }
}
