package io.iotpipe.cli;

import java.time.Duration;

/** A duration given on the command line, in the config's units (90s, 5m, 1h, 400d). */
public final class DurationOption {

  private DurationOption() {}

  /** {@code value} as a duration, or a usage error naming {@code option} and the accepted form. */
  public static Duration parse(String option, String value) {
    Duration d = io.iotpipe.core.config.ConfigUnits.parseDuration(value);
    if (d == null) {
      throw new CommandFailure(ExitCode.USAGE, option + " " + value + " is not a duration (write e.g. 90s, 5m, 1h)");
    }
    return d;
  }
}
