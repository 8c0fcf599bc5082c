package io.iotpipe.cli;

/**
 * A failure a command reports to the user as one clear message (no stack trace), with the exit code to use. The
 * message should name the fix, e.g. "cannot reach amqp://127.0.0.1:5672 (connection refused): is the broker running?".
 */
public final class CommandFailure extends RuntimeException {
  private final int exitCode;

  public CommandFailure(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public CommandFailure(String message, Throwable cause) {
    super(message, cause);
    this.exitCode = ExitCode.FAILED;
  }

  public int exitCode() {
    return exitCode;
  }
}
