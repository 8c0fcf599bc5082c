package io.iotpipe.core.envelope;

/**
 * Makes text that came from a message safe to put in a reason (dead-letter header, log line, terminal): control
 * characters are escaped (a device id holding a newline must not forge a log line) and the length is bounded.
 */
public final class Reasons {

  /** Longest reason kept; the rest is cut with an ellipsis. */
  public static final int MAX_LENGTH = 500;

  private Reasons() {}

  /** {@code text} with control characters escaped as {@code \n}, {@code \t}, {@code \u0000}..., cut to {@code max}. */
  public static String sanitize(String text, int max) {
    if (text == null) {
      return "";
    }
    StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 8);
    int i = 0;
    for (; i < text.length() && out.length() < max; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    if (i < text.length()) {
      out.append('…');
    }
    return out.toString();
  }

  /** A whole reason made safe: {@link #sanitize(String, int)} with {@link #MAX_LENGTH}. */
  public static String sanitize(String text) {
    return sanitize(text, MAX_LENGTH);
  }

  /** A value quoted inside a reason, escaped and bounded to 100 characters. */
  public static String quote(String value) {
    return sanitize(value, 100);
  }
}
