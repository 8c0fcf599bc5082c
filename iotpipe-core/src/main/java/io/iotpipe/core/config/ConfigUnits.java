package io.iotpipe.core.config;

import java.math.BigInteger;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The config's syntax for durations (a whole number with one of the units ms, s, m, h, d) and sizes (plain bytes, or
 * a whole number with KB/KiB, MB/MiB, GB/GiB, TB/TiB, PB/PiB): parsed and printed in one place, so that the reader, the
 * reference, command options and error messages all speak the units a user writes.
 */
public final class ConfigUnits {

  static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB|PB|PiB)?", Pattern.CASE_INSENSITIVE);
  /** The longest duration accepted (a hundred years: "forever" without overflow). */
  public static final Duration MAX_DURATION = Duration.ofDays(36_500);
  /** The largest size accepted. */
  public static final long MAX_BYTES = 1L << 50;

  private ConfigUnits() {}

  /** Parses a duration ({@code 90s}, {@code 5m}, ...); null when it is not one or exceeds {@link #MAX_DURATION}. */
  public static Duration parseDuration(String s) {
    Matcher m = DURATION.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    BigInteger millis = new BigInteger(m.group(1)).multiply(BigInteger.valueOf(unitMillis(m.group(2))));
    return millis.compareTo(BigInteger.valueOf(MAX_DURATION.toMillis())) > 0 ? null : Duration.ofMillis(millis.longValueExact());
  }

  static long unitMillis(String unit) {
    return switch (unit) {
      case "ms" -> 1;
      case "s" -> 1000;
      case "m" -> 60_000;
      case "h" -> 3_600_000;
      default -> 86_400_000;
    };
  }

  /** The config syntax of {@code d}, in its largest exact unit ({@code 90d}, {@code 200ms}). */
  public static String formatDuration(Duration d) {
    long ms = d.toMillis();
    for (String unit : new String[] {"d", "h", "m", "s"}) {
      long u = unitMillis(unit);
      if (ms != 0 && ms % u == 0) {
        return ms / u + unit;
      }
    }
    return ms == 0 ? "0s" : ms + "ms";
  }

  /** Parses a size ({@code 64MiB}, {@code 1GB}, {@code 512}); null when it is not one or exceeds {@link #MAX_BYTES}. */
  public static Long parseBytes(String s) {
    BigInteger n = exactBytes(s);
    return n == null || n.compareTo(BigInteger.valueOf(MAX_BYTES)) > 0 ? null : n.longValueExact();
  }

  static BigInteger exactBytes(String s) {
    Matcher m = SIZE.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    long mult = switch (unit) {
      case "KB" -> 1000L;
      case "KIB" -> 1L << 10;
      case "MB" -> 1000_000L;
      case "MIB" -> 1L << 20;
      case "GB" -> 1000_000_000L;
      case "GIB" -> 1L << 30;
      case "TB" -> 1000_000_000_000L;
      case "TIB" -> 1L << 40;
      case "PB" -> 1000_000_000_000_000L;
      case "PIB" -> 1L << 50;
      default -> 1L;
    };
    return new BigInteger(m.group(1)).multiply(BigInteger.valueOf(mult));
  }

  /** The config syntax of a size in its largest exact binary unit ({@code 128MiB}); plain bytes otherwise. */
  public static String formatBytes(long n) {
    String[] units = {"PiB", "TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < units.length; i++) {
      long u = 1L << (10 * (5 - i));
      if (n != 0 && n % u == 0) {
        return n / u + units[i];
      }
    }
    return Long.toString(n);
  }

}
