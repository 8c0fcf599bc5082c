package io.iotpipe.core.config;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${VAR}} and {@code ${VAR:-default}} references in config values: the one way a secret or a host-specific
 * value enters the config (hand-written: the syntax is the shell's subset users already know, and no library offers
 * it with per-reference errors).
 */
final class EnvReferences {

  private static final Pattern REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

  private EnvReferences() {}

  /** Whether {@code raw} is exactly one reference (what a secret must be). */
  static boolean isReference(String raw) {
    return REF.matcher(raw).matches();
  }

  /** {@code raw} without the defaults of its references, safe to print: {@code ${PW:-guest}} -> {@code ${PW}}. */
  static String withoutDefaults(String raw) {
    return raw.replaceAll(":-[^}]*}", "}");
  }

  /**
   * {@code raw} with every reference replaced by its variable's value, else its default; a reference with neither is
   * reported to {@code unset} (with the variable's name) and the result is null.
   */
  static String expand(String raw, Function<String, String> lookup, Consumer<String> unset) {
    Matcher m = REF.matcher(raw);
    StringBuilder out = new StringBuilder();
    boolean ok = true;
    while (m.find()) {
      String value = lookup.apply(m.group(1));
      if (value == null) {
        value = m.group(2);
      }
      if (value == null) {
        unset.accept(m.group(1));
        ok = false;
        value = "";
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return ok ? out.toString() : null;
  }
}
