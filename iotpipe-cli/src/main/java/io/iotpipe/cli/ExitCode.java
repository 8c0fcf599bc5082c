package io.iotpipe.cli;

/** Process exit codes shared by every command, so scripts can tell "fix your input" from "it failed". */
public final class ExitCode {
  public static final int OK = 0;
  /** The operation ran and failed (unreachable server, verification found losses, ...). */
  public static final int FAILED = 1;
  /** The input was wrong (invalid configuration, bad option); nothing was done. */
  public static final int USAGE = 2;

  private ExitCode() {}
}
