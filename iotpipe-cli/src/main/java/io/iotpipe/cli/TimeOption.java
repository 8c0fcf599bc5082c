package io.iotpipe.cli;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** A point in time given on the command line: a date (UTC midnight) or an ISO-8601 instant. */
public final class TimeOption {

  private TimeOption() {}

  /** {@code value} as an instant, null when absent, or a usage error naming {@code option} and the accepted forms. */
  public static Instant parse(String option, String value) {
    if (value == null) {
      return null;
    }
    try {
      return value.length() == 10 ? LocalDate.parse(value).atStartOfDay(ZoneOffset.UTC).toInstant() : Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new CommandFailure(ExitCode.USAGE, option + " " + value + " is neither a date (2026-12-07) nor an instant (2026-12-07T08:00:00Z)");
    }
  }
}
