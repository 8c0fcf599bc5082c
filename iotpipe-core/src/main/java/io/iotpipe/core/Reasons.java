package io.iotpipe.core;

/**
 * Makes text that came from a message (or from an error about it) safe to put into a dead-letter header, a log line or
 * a terminal: control characters are escaped and the length is bounded.
 *
 * <p>Why hand-written: the escaping libraries at hand escape for a target syntax (JSON, Java, HTML) and would also
 * rewrite quotes and backslashes that are meant to stay readable in a reason; here only invisible or line-breaking
 * characters are the danger (log injection, a forged second line in {@code dlq list}, Trojan-Source style reordering).
 *
 * <p>Escaped: C0 and C1 controls and DEL ({@code \n}, {@code \r}, {@code \t} by name, the rest as {@code \}{@code uXXXX}),
 * Unicode format characters (bidi overrides, zero-width characters, the byte order mark), line and paragraph
 * separators and unpaired surrogates. Backslashes themselves are kept as they are, so a regex in a reason stays
 * readable; an escape in the output therefore does not prove the input held a control character.
 */
public final class Reasons {

  /** Default bound for one reason: enough for a few field errors, short enough for a header and one log line. */
  public static final int MAX_LENGTH = 300;

  /** Appended when a reason was cut. */
  public static final String ELLIPSIS = "\u2026";

  private Reasons() {}

  /** {@link #sanitize(String, int)} with {@link #MAX_LENGTH}. */
  public static String sanitize(String text) {
    return sanitize(text, MAX_LENGTH);
  }

  /**
   * {@code text} with every unsafe character escaped, cut to at most {@code maxLength} characters (the cut never
   * splits an escape or a surrogate pair and ends with {@link #ELLIPSIS}). {@code null} becomes {@code "null"}, as in
   * string concatenation.
   */
  public static String sanitize(String text, int maxLength) {
    if (maxLength < 1) {
      throw new IllegalArgumentException("maxLength must be >= 1, was " + maxLength);
    }
    if (text == null) {
      return "null";
    }
    if (text.length() <= maxLength && isSafe(text)) {
      return text; // the common case: no copy
    }
    StringBuilder out = new StringBuilder(Math.min(text.length(), maxLength) + 8);
    int cut = -1; // where to cut if it turns out too long: the last piece boundary that leaves room for the ellipsis
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      int pieceStart = out.length();
      if (isUnsafe(cp)) {
        escape(cp, out);
      } else {
        out.appendCodePoint(cp);
      }
      if (cut < 0 && out.length() > maxLength - ELLIPSIS.length()) {
        cut = pieceStart;
      }
      if (out.length() > maxLength) {
        out.setLength(cut);
        return out.append(ELLIPSIS).toString();
      }
      i += Character.charCount(cp);
    }
    return out.toString();
  }

  /** {@code "text"}: a sanitized excerpt in double quotes, for quoting input inside a reason. */
  public static String quote(String text, int maxLength) {
    return '"' + sanitize(text, maxLength) + '"';
  }

  private static boolean isSafe(String text) {
    for (int i = 0; i < text.length(); ) {
      char c = text.charAt(i);
      // printable ASCII is the common case; everything else gets the full code point check
      if (c >= 0x20 && c < 0x7f) {
        i++;
      } else {
        int cp = text.codePointAt(i);
        if (isUnsafe(cp)) {
          return false;
        }
        i += Character.charCount(cp);
      }
    }
    return true;
  }

  private static boolean isUnsafe(int cp) {
    if (Character.isISOControl(cp)) {
      return true;
    }
    return switch (Character.getType(cp)) {
      case Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SURROGATE -> true;
      default -> false;
    };
  }

  private static void escape(int cp, StringBuilder out) {
    switch (cp) {
      case '\n' -> out.append("\\n");
      case '\r' -> out.append("\\r");
      case '\t' -> out.append("\\t");
      // supplementary format characters (e.g. language tags) as their surrogate pair, like Java and JSON escapes
      default -> {
        for (char c : Character.toChars(cp)) {
          out.append(String.format("\\u%04X", (int) c));
        }
      }
    }
  }
}
