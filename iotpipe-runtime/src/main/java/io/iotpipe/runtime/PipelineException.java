package io.iotpipe.runtime;

/** A pipeline cannot run as configured; the message names the key to fix. */
public final class PipelineException extends RuntimeException {
  public PipelineException(String message) {
    super(message);
  }
}
