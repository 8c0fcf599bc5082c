package io.iotpipe.runtime.consume;

import com.rabbitmq.client.AMQP;
import java.util.concurrent.CompletionStage;

/**
 * What {@link SinkConsumer} needs from whatever keeps its partitions flowing: {@link Supervisor} for partition queues
 * (AMQP 0-9-1), {@link StreamSupervisor} for partition streams ({@code topology.layout: streams}). Both report
 * partitions opened and closed and deliveries to the consumer, and both dead-letter through an AMQP connection.
 */
interface Supervision {

  /** Connects and subscribes; on failure schedules another try. Returns after the first attempt. */
  void connect();

  /** Publishes to the dead-letter exchange, completing when the broker confirmed. */
  CompletionStage<Void> publish(String exchange, String routingKey, AMQP.BasicProperties props, byte[] body);

  boolean connected();

  /** Epoch millis since when the consumer has not been fully subscribed, 0 while it is. */
  long disconnectedSince();

  String lastError();

  long connections();

  /** Stops taking new deliveries; what was received is still settled. */
  void cancel();

  /** Closes everything; what is unsettled comes again (queue: redelivered; stream: read again from the stored position). */
  void close();
}
