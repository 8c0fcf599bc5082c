package io.iotpipe.rabbitmq;

/** No node of a configured broker could be reached; the message names the nodes tried and the fix. */
public final class BrokerUnavailableException extends RuntimeException {
  public BrokerUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
