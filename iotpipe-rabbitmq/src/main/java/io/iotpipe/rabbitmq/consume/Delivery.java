package io.iotpipe.rabbitmq.consume;

import com.rabbitmq.client.AMQP;
import io.iotpipe.core.sink.SinkRecord;

/**
 * One message taken from a queue and not yet settled.
 *
 * @param subscription  the channel it arrived on; its delivery tag is only valid there
 * @param tag           delivery tag on that channel
 * @param properties    the original AMQP properties (copied to the dead-letter queue)
 * @param body          the original body
 * @param record        the decoded reading, or null when the message failed the contract
 * @param invalidReason why it failed the contract, or null
 * @param attempt       how many times the sink was asked already
 */
record Delivery(Subscription subscription, long tag, AMQP.BasicProperties properties, byte[] body, SinkRecord record,
                String invalidReason, int attempt) {

  Delivery nextAttempt() {
    return new Delivery(subscription, tag, properties, body, record, invalidReason, attempt + 1);
  }
}
