package io.iotpipe.core.envelope;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import io.iotpipe.core.Reasons;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Words a JSON parser error for the person reading a dead letter: what is wrong and where (line, column), in plain
 * words, without the parser's internals (exception names, {@code [Source: REDACTED ...]}, feature flags, character
 * codes) that only its authors can read.
 */
final class JsonProblems {

  private static final Pattern UNEXPECTED_CHAR = Pattern.compile("Unexpected character \\((?:'(.*)' )?\\(code (\\d+)[^)]*\\)\\)(.*)", Pattern.DOTALL);
  private static final Pattern NON_STANDARD = Pattern.compile("Non-standard token '(.*?)'.*", Pattern.DOTALL);
  private static final Pattern ILLEGAL_CHAR = Pattern.compile("Illegal character \\(\\(CTRL-CHAR, code (\\d+)\\)\\).*", Pattern.DOTALL);
  private static final Pattern UNRECOGNIZED = Pattern.compile("Unrecognized token '(.*)': was expecting.*", Pattern.DOTALL);
  private static final Pattern CONTROL_CHAR = Pattern.compile("Illegal unquoted character \\(\\(CTRL-CHAR, code (\\d+)\\)\\).*", Pattern.DOTALL);
  private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*)'", Pattern.DOTALL);
  private static final Pattern CLOSE_MARKER = Pattern.compile("Unexpected close marker '(.)': expected '(.)'.*", Pattern.DOTALL);
  /** Whatever follows these in a parser message is a location dump or an internal detail. */
  private static final Pattern INTERNALS = Pattern.compile("\\s*(\\(start marker at|at \\[Source|\\[Source:|\\(StreamReadFeature|\\(JsonReadFeature|, from `|\\n).*", Pattern.DOTALL);
  /** Jackson's {@code StreamReadConstraints} messages: what, how long, the limit. */
  private static final Pattern LIMIT = Pattern.compile("(Document nesting depth|Number value length|String value length|Name length)"
      + " \\((\\d+)\\) exceeds the maximum allowed \\((\\d+)");
  private static final Pattern CODE = Pattern.compile("\\s*\\(+(CTRL-CHAR, )?code [^)]*\\)+|`[^`]*`");

  private JsonProblems() {}

  /** {@code body is not complete JSON: it ends inside an object (line 1, column 57)} and the like. */
  static String describe(JsonProcessingException e) {
    String where = where(e.getLocation());
    String original = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    if (e instanceof JsonEOFException || original.startsWith("Unexpected end-of-input")) {
      return "body is not complete JSON: it ends " + inside(e) + where;
    }
    if (e instanceof StreamConstraintsException) {
      Matcher m = LIMIT.matcher(original);
      if (m.find()) {
        String what = m.group(1).toLowerCase(java.util.Locale.ROOT);
        return what.startsWith("document nesting")
            ? "body is nested " + m.group(2) + " levels deep; at most " + m.group(3) + " are read" + where
            : "body holds a " + what.replace(" value length", "") + " of " + m.group(2) + " characters; at most " + m.group(3)
                + " are read" + where;
      }
      return "body is not acceptable JSON: " + plain(original) + where;
    }
    String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    Matcher m;
    if ((m = DUPLICATE.matcher(msg)).matches()) {
      return "body has the field " + Reasons.quote(m.group(1), 40) + " twice: which one is meant is ambiguous" + where;
    }
    if ((m = UNEXPECTED_CHAR.matcher(msg)).matches()) {
      int code = Integer.parseInt(m.group(2));
      String what = code < 0x20 || code == 0x7F ? String.format("control character U+%04X", code)
          : "'" + Reasons.sanitize(new String(Character.toChars(code)), 4) + "'";
      String rest = m.group(3) == null ? "" : m.group(3).trim();
      String context = rest.startsWith("in numeric value") ? " in a number" : rest.startsWith("in a String") ? " in a string" : "";
      int colon = rest.indexOf(": ");
      return "body is not valid JSON: unexpected " + what + context + expected(rest.startsWith(":") ? rest.substring(1).trim()
          : colon >= 0 ? rest.substring(colon + 2) : null) + where;
    }
    if ((m = UNRECOGNIZED.matcher(msg)).matches()) {
      return "body is not valid JSON: unexpected word " + Reasons.quote(m.group(1), 40)
          + " where a value was expected (a string in double quotes, a number, an object, an array, true, false or null)" + where;
    }
    if ((m = CONTROL_CHAR.matcher(msg)).matches()) {
      return String.format("body is not valid JSON: control character U+%04X inside a string must be escaped", Integer.parseInt(m.group(1))) + where;
    }
    if ((m = NON_STANDARD.matcher(msg)).matches()) {
      return "body is not valid JSON: " + Reasons.quote(m.group(1), 20) + " is not a JSON value (JSON has no NaN or Infinity)" + where;
    }
    if ((m = ILLEGAL_CHAR.matcher(msg)).matches()) {
      return String.format("body is not valid JSON: control character U+%04X between values (only spaces, tabs and line breaks may be there)",
          Integer.parseInt(m.group(1))) + where;
    }
    if ((m = CLOSE_MARKER.matcher(msg)).matches()) {
      return "body is not valid JSON: " + m.group(1) + " closes what " + m.group(2) + " should close" + where;
    }
    return "body is not valid JSON: " + plain(msg) + where;
  }

  private static String inside(JsonProcessingException e) {
    if (e instanceof JsonEOFException eof && (eof.getTokenBeingDecoded() == JsonToken.VALUE_STRING
        || eof.getTokenBeingDecoded() == JsonToken.FIELD_NAME && String.valueOf(e.getOriginalMessage()).contains("field name"))) {
      return "inside a string";
    }
    if (e.getProcessor() instanceof JsonParser p) {
      JsonStreamContext ctx = p.getParsingContext();
      if (ctx != null && ctx.inArray()) {
        return "inside an array";
      }
      if (ctx != null && ctx.inObject()) {
        return "inside an object";
      }
    }
    String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    return msg.contains("Array") ? "inside an array" : msg.contains("Object") ? "inside an object" : "before the JSON value is complete";
  }

  /** The parser's "was expecting ..." in plain words. */
  private static String expected(String detail) {
    if (detail == null) {
      return "";
    }
    if (detail.contains("double-quote to start field name")) {
      return " where a field name in double quotes was expected";
    }
    if (detail.contains("comma to separate Object entries")) {
      return " where , or } was expected";
    }
    if (detail.contains("comma to separate Array entries")) {
      return " where , or ] was expected";
    }
    if (detail.contains("colon to separate field name and value")) {
      return " where : was expected after a field name";
    }
    if (detail.contains("expected a valid value") || detail.contains("expected a value")) {
      return " where a value was expected";
    }
    if (detail.contains("expected digit")) {
      return " where a digit was expected";
    }
    return " (" + plain(detail) + ")";
  }

  private static String plain(String msg) {
    if (msg == null) {
      return "unreadable";
    }
    String s = CODE.matcher(INTERNALS.matcher(msg).replaceFirst("")).replaceAll("").trim();
    return Reasons.sanitize(s.isEmpty() ? "unreadable" : s, 120);
  }

  private static String where(JsonLocation loc) {
    if (loc == null || loc.getLineNr() < 1) {
      return "";
    }
    return " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
  }
}
