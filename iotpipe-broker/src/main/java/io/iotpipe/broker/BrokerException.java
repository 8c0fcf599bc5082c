package io.iotpipe.broker;

/** A local broker could not be installed, started or stopped; the message says why and what to do. */
public final class BrokerException extends RuntimeException {
  public BrokerException(String message) {
    super(message);
  }

  public BrokerException(String message, Throwable cause) {
    super(message, cause);
  }
}
