package io.iotpipe.topology;

/** The topology could not be read or applied; the message names the broker, the object and the fix. */
public final class TopologyException extends RuntimeException {
  public TopologyException(String message) {
    super(message);
  }
}
