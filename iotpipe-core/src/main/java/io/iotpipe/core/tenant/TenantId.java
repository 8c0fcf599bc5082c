package io.iotpipe.core.tenant;

import java.util.regex.Pattern;

/**
 * A tenant's id: the customer a device belongs to. Lowercase letters, digits and inner hyphens, 1-32 characters:
 * it becomes part of search index names, role names and file columns, so it must be safe in all of them and can
 * never contain the {@code .} that separates it from the rest of an index name ({@code telemetry-2026.12.07.tenant-a}),
 * which is what keeps one tenant's index patterns from matching another tenant's indices.
 */
public final class TenantId {

  /** The rule, for error messages and the reference. */
  public static final String RULE = "1-32 characters from a-z 0-9 and '-', starting and ending with a letter or digit";
  private static final Pattern SHAPE = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?");

  private TenantId() {}

  /** True when {@code id} is a valid tenant id. */
  public static boolean valid(String id) {
    return id != null && SHAPE.matcher(id).matches();
  }

  /** {@code id} if valid; otherwise an {@link IllegalArgumentException} that quotes it (bounded) and states the rule. */
  public static String check(String id) {
    if (!valid(id)) {
      throw new IllegalArgumentException("\"" + io.iotpipe.core.Reasons.sanitize(String.valueOf(id), 40)
          + "\" is not a valid tenant id: use " + RULE);
    }
    return id;
  }
}
