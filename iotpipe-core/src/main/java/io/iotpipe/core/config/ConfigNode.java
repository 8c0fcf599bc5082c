package io.iotpipe.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A read cursor over one mapping of the YAML tree that knows its key path and records problems instead of throwing.
 *
 * <p>Why not bind with Jackson directly: data binding stops at the first error, and an operator fixing a config
 * deserves the complete list in one go. Every getter here returns a usable fallback after recording an error, so
 * reading continues; {@link #finish()} reports keys nobody asked for (typos such as {@code partitons}). No getter
 * throws, whatever the tree holds: numbers, durations and sizes are parsed exactly (no overflow) and checked against
 * their range.
 *
 * <p><b>The getters are also the configuration reference.</b> {@link ConfigReference} runs the same read methods over
 * an empty tree in "describe" mode, where every getter records its key path, type, range and default; the README's
 * configuration table and {@code iotpipe config reference} are generated from that record, and {@link #finish()}
 * knows the same keys, so the validator and the reference cannot disagree. To add a key:
 * <ol>
 *   <li>read it with a getter here ({@link #integer}, {@link #duration}, {@link #bytes}, {@link #string},
 *       {@link #child} ...) in the section's {@code read} method, <em>unconditionally</em> (a key read only when
 *       another has some value would be missing from the reference) and pass its real range;</li>
 *   <li>describe it in one line in {@link ConfigReference} ({@code ConfigReferenceTest} names the key if you forget);
 *   </li>
 *   <li>paste the output of {@code iotpipe config reference} into README.md between the
 *       {@code config-reference} markers (or run {@code ConfigReferenceTest} with {@code -Dconfig.reference.write=true}).
 *   </li>
 * </ol>
 */
public final class ConfigNode {

  private static final int MAX_SHOWN = 80;
  private static final Pattern PLAIN_KEY = Pattern.compile("[\\p{L}\\p{N}_<>-]+(\\[\\d+])?");
  /** The placeholder under which {@link #entries} describes its (user-named) members. */
  static final String NAME_PLACEHOLDER = "<name>";

  private final String path;
  private final JsonNode node;
  private final List<ConfigError> errors;
  private final Function<String, String> env;
  /**
   * Whether {@code ${ENV}} references under a key path are resolved: a command resolves only the sections it uses
   * (least privilege: {@code query} must not need the brokers' passwords). Out of scope, a reference counts as unset.
   */
  private final java.util.function.Predicate<String> inScope;
  /** Non-null only in describe mode: every getter records its key here. */
  private final Map<String, ConfigKey> catalog;
  private final Set<String> used = new LinkedHashSet<>();

  private ConfigNode(String path, JsonNode node, List<ConfigError> errors, Function<String, String> env,
                     Map<String, ConfigKey> catalog) {
    this(path, node, errors, env, catalog, p -> true);
  }

  private ConfigNode(String path, JsonNode node, List<ConfigError> errors, Function<String, String> env,
                     Map<String, ConfigKey> catalog, java.util.function.Predicate<String> inScope) {
    this.inScope = inScope;
    this.path = path;
    this.node = node == null ? MissingNode.getInstance() : node;
    this.errors = errors;
    this.env = env;
    this.catalog = catalog;
    if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
      error("expected a mapping, was " + kind(this.node));
    }
  }

  public static ConfigNode root(JsonNode node, List<ConfigError> errors, Function<String, String> env) {
    return new ConfigNode("", node, errors, env, null);
  }

  /** A root that resolves environment references only under the key paths {@code inScope} accepts. */
  public static ConfigNode root(JsonNode node, List<ConfigError> errors, Function<String, String> env,
                                java.util.function.Predicate<String> inScope) {
    return new ConfigNode("", node, errors, env, null, inScope);
  }

  /** A root over nothing that records every key the read methods ask for into {@code catalog} (errors are dropped). */
  static ConfigNode describing(Map<String, ConfigKey> catalog) {
    return new ConfigNode("", MissingNode.getInstance(), new ArrayList<>(), name -> null, catalog);
  }

  public String path() {
    return path;
  }

  public boolean isPresent() {
    return node.isObject();
  }

  public boolean has(String key) {
    return node.isObject() && node.has(key) && !node.get(key).isNull();
  }

  public String keyPath(String key) {
    String k = displayKey(key);
    return path.isEmpty() ? k : path + "." + k;
  }

  /**
   * A key (or a name under a mapping of names) as it appears in a key path: as is when it is a plain word, quoted
   * and escaped otherwise ({@code brokers."a.b".uris}, {@code ""}), so a path always reads unambiguously and on one
   * line. List indexes ({@code uris[1]}) are the reader's own and pass.
   */
  static String displayKey(String key) {
    return PLAIN_KEY.matcher(key).matches() ? key : quote(key);
  }

  public void error(String message) {
    errors.add(new ConfigError(path.isEmpty() ? "(root)" : path, message));
  }

  public void error(String key, String message) {
    errors.add(new ConfigError(keyPath(key), message));
  }

  /** Whether a problem at {@code key} (a path below this node) is recorded already: cross-field checks then say nothing. */
  public boolean hasErrorAt(String key) {
    String p = keyPath(key);
    return errors.stream().anyMatch(e -> e.path().equals(p));
  }

  private JsonNode take(String key) {
    used.add(key);
    JsonNode v = node.isObject() ? node.get(key) : null;
    return v == null || v.isNull() ? null : v;
  }

  /** Describe mode: records what {@code key} is. {@code dflt} is shown as the default ({@code null}: none). */
  private void describe(String key, String type, Object dflt) {
    if (catalog != null) {
      ConfigKey k = new ConfigKey(keyPath(key), type, dflt == null ? null : show(dflt), false);
      catalog.merge(keyPath(key), k, (earlier, now) -> now.mergedWith(earlier));
    }
  }

  /**
   * A rule of {@code key} beyond its type and range, declared where it is checked: in describe mode it goes into the
   * reference (so {@code config reference} shows every rule {@code config check} enforces); otherwise, when it does
   * not hold, the error is the rule itself and what was found. Returns whether it holds.
   *
   * @param found what the file says, for the message (null: nothing to quote)
   */
  public boolean check(String key, String rule, boolean holds, String found) {
    if (catalog != null) {
      catalog.merge(keyPath(key), new ConfigKey(keyPath(key), "", null, false).withRule(rule), (earlier, now) -> earlier.withRule(rule));
      return true;
    }
    if (!holds) {
      error(key, found == null ? rule : rule + ", was " + found);
    }
    return holds;
  }

  public ConfigNode child(String key) {
    return new ConfigNode(keyPath(key), take(key), errors, env, catalog, inScope);
  }

  // ---- text ----

  /** A string value; {@code ${VAR}} and {@code ${VAR:-default}} are expanded from the environment. */
  public String string(String key, String fallback) {
    describe(key, "text", fallback);
    return text(key, fallback);
  }

  private String text(String key, String fallback) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (!v.isValueNode()) {
      error(key, "expected a text value, was " + kind(v));
      return fallback;
    }
    return expand(key, v.asText(), fallback);
  }

  public String requiredString(String key) {
    describe(key, "text", null);
    markRequired(key);
    String s = text(key, null);
    if (s == null || s.isBlank()) {
      if (!has(key)) {
        error(key, "required");
      }
      return "";
    }
    return s;
  }

  /** Describe mode: the reference shows {@code key} as required (for keys whose absence the caller reports). */
  public void markRequired(String key) {
    if (catalog != null) {
      catalog.computeIfPresent(keyPath(key), (p, k) -> k.asRequired());
    }
  }

  public String matching(String key, String fallback, Pattern shape, String hint) {
    describe(key, "text: " + hint, fallback);
    String s = text(key, fallback);
    if (s != null && !shape.matcher(s).matches()) {
      error(key, quote(s) + " is not valid: " + hint);
      return fallback;
    }
    return s;
  }

  /** A file system path (relative paths are relative to the working directory). */
  public Path path(String key, Path fallback) {
    describe(key, "path", fallback);
    String s = text(key, null);
    if (s == null) {
      return fallback;
    }
    if (s.isBlank()) {
      error(key, "must not be empty" + (fallback == null ? "" : " (remove the key for the default " + fallback + ")"));
      return fallback;
    }
    try {
      return Path.of(s);
    } catch (InvalidPathException e) {
      error(key, quote(s) + " is not a valid path: " + e.getReason());
      return fallback;
    }
  }

  private String expand(String key, String raw, String fallback) {
    java.util.function.Function<String, String> lookup = inScope.test(keyPath(key)) ? env : name -> null;
    String value = EnvReferences.expand(raw, lookup, name ->
        error(key, "environment variable " + name + " is not set (export it, or write ${" + name + ":-default})"));
    return value == null ? fallback : value;
  }

  /**
   * A credential. Must be an environment reference ({@code ${VAR}} or {@code ${VAR:-default}}): a literal password
   * in a file that ends up in version control is the leak we refuse to make easy.
   */
  public Secret secret(String key) {
    describe(key, "secret: ${ENV_VAR} reference", null);
    JsonNode v = take(key);
    if (v == null) {
      return Secret.NONE;
    }
    // The value is never quoted back: it may be the very password we refuse.
    String raw = v.isValueNode() ? v.asText() : "";
    if (!EnvReferences.isReference(raw)) {
      error(key, "credentials must reference an environment variable, e.g. ${IOTPIPE_PASSWORD} (literal values are not accepted)");
      return Secret.NONE;
    }
    String value = expand(key, raw, null);
    return value == null ? Secret.NONE : new Secret(EnvReferences.withoutDefaults(raw), value);
  }

  // ---- numbers ----

  public int integer(String key, int fallback, int min, int max) {
    describe(key, "integer" + range(min > Integer.MIN_VALUE, max < Integer.MAX_VALUE, "" + min, "" + max), fallback);
    return (int) exactInteger(key, fallback, min, max);
  }

  public long longValue(String key, long fallback, long min, long max) {
    describe(key, "integer" + range(min > Long.MIN_VALUE, max < Long.MAX_VALUE, "" + min, "" + max), fallback);
    return exactInteger(key, fallback, min, max);
  }

  private long exactInteger(String key, long fallback, long min, long max) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    BigInteger n;
    if (v.isTextual()) {
      String s = expand(key, v.asText(), null);
      if (s == null) {
        return fallback; // the missing variable is reported
      }
      try {
        n = new BigInteger(s.trim());
      } catch (NumberFormatException e) {
        error(key, "expected an integer, was " + quote(v.asText()));
        return fallback;
      }
    } else if (v.isNumber() && v.canConvertToExactIntegral()) {
      n = v.isIntegralNumber() ? v.bigIntegerValue() : v.decimalValue().toBigInteger();
    } else {
      error(key, "expected an integer, was " + kind(v));
      return fallback;
    }
    if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
      error(key, "must be between " + min + " and " + max + ", was " + shorten(n.toString()));
      return fallback;
    }
    return n.longValueExact();
  }

  public double decimal(String key, double fallback, double min, double max) {
    describe(key, "number " + plain(min) + ".." + plain(max), plain(fallback));
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (!v.isNumber()) {
      error(key, "expected a number, was " + kind(v));
      return fallback;
    }
    double d = v.asDouble();
    if (!Double.isFinite(d) || d < min || d > max) {
      error(key, "must be between " + plain(min) + " and " + plain(max) + ", was " + shorten(v.asText()));
      return fallback;
    }
    return d;
  }

  private static String plain(double d) {
    return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
  }

  public boolean bool(String key, boolean fallback) {
    describe(key, "boolean", fallback);
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (!v.isBoolean()) {
      error(key, "expected true or false, was " + kind(v));
      return fallback;
    }
    return v.asBoolean();
  }

  // ---- durations and sizes ----

  /** A duration such as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 90d}, from 0 to {@link ConfigUnits#MAX_DURATION}. */
  public Duration duration(String key, Duration fallback) {
    return duration(key, fallback, Duration.ZERO, ConfigUnits.MAX_DURATION);
  }

  /** A duration between {@code min} and {@code max} (both inclusive). */
  public Duration duration(String key, Duration fallback, Duration min, Duration max) {
    describe(key, "duration" + range(min.isPositive(), max.compareTo(ConfigUnits.MAX_DURATION) < 0, ConfigUnits.formatDuration(min), ConfigUnits.formatDuration(max)), fallback);
    String s = text(key, null);
    if (s == null) {
      return fallback;
    }
    Matcher m = ConfigUnits.DURATION.matcher(s.trim());
    if (!m.matches()) {
      error(key, "expected a duration like 500ms, 30s, 5m, 2h or 90d, was " + quote(s)
          + (s.trim().matches("\\d+") ? " (add a unit)" : ""));
      return fallback;
    }
    BigInteger millis = new BigInteger(m.group(1)).multiply(BigInteger.valueOf(ConfigUnits.unitMillis(m.group(2))));
    if (millis.compareTo(BigInteger.valueOf(min.toMillis())) < 0 || millis.compareTo(BigInteger.valueOf(max.toMillis())) > 0) {
      error(key, "must be between " + ConfigUnits.formatDuration(min) + " and " + ConfigUnits.formatDuration(max) + ", was " + shorten(s.trim()));
      return fallback;
    }
    return Duration.ofMillis(millis.longValueExact());
  }

  /** A size such as {@code 512KiB}, {@code 64MiB}, {@code 1GB}, or a plain number of bytes, from 0 to {@link ConfigUnits#MAX_BYTES}. */
  public long bytes(String key, long fallback) {
    return bytes(key, fallback, 0, ConfigUnits.MAX_BYTES);
  }

  /** A size between {@code min} and {@code max} bytes (both inclusive). */
  public long bytes(String key, long fallback, long min, long max) {
    describe(key, "size" + range(min > 0, max < ConfigUnits.MAX_BYTES, ConfigUnits.formatBytes(min), ConfigUnits.formatBytes(max)), new Size(fallback));
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    BigInteger n;
    if (v.isNumber() && v.canConvertToExactIntegral()) {
      n = v.isIntegralNumber() ? v.bigIntegerValue() : v.decimalValue().toBigInteger();
    } else if (v.isTextual()) {
      n = ConfigUnits.exactBytes(v.asText());
      if (n == null) {
        error(key, "expected a size like 16KiB, 64MiB or 1GiB, was " + quote(v.asText()));
        return fallback;
      }
    } else {
      error(key, "expected a size like 16KiB, 64MiB or 1GiB, was " + kind(v));
      return fallback;
    }
    if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
      error(key, "must be between " + ConfigUnits.formatBytes(min) + " and " + ConfigUnits.formatBytes(max) + ", was " + shorten(v.asText()));
      return fallback;
    }
    return n.longValueExact();
  }

  /** A size as a default in the reference (a bare long would print as plain bytes). */
  private record Size(long bytes) {
    @Override
    public String toString() {
      return ConfigUnits.formatBytes(bytes);
    }
  }

  // ---- URIs, lists, enums, named entries ----

  public URI uri(String key, URI fallback, Set<String> schemes) {
    describe(key, "URI (" + sorted(schemes) + ")", fallback);
    String s = text(key, null);
    return s == null ? fallback : toUri(key, s, schemes, fallback);
  }

  private URI toUri(String key, String s, Set<String> schemes, URI fallback) {
    try {
      URI u = new URI(s);
      if (u.getScheme() == null || !schemes.contains(u.getScheme()) || u.getHost() == null) {
        error(key, quote(s) + " must be a URI with host and one of the schemes " + sorted(schemes));
        return fallback;
      }
      if (u.getUserInfo() != null && u.getUserInfo().contains(":")) {
        error(key, "put no password in a URI; use the username/password keys (password from the environment)");
        return fallback;
      }
      return u;
    } catch (URISyntaxException e) {
      // The message quotes the input: shown escaped and bounded like every other value.
      error(key, "not a valid URI: " + quote(e.getInput()) + ": " + e.getReason() + " at index " + e.getIndex());
      return fallback;
    }
  }

  /** A list of URIs; a single string is accepted as a list of one. */
  public List<URI> uris(String key, List<URI> fallback, Set<String> schemes) {
    describe(key, "list of URIs (" + sorted(schemes) + ")", fallback);
    List<String> raw = textList(key, null);
    if (raw == null) {
      return fallback;
    }
    List<URI> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      URI u = toUri(key + "[" + i + "]", raw.get(i), schemes, null);
      if (u != null) {
        out.add(u);
      }
    }
    return out;
  }

  /** A list of strings; a single string is accepted as a list of one. */
  public List<String> strings(String key, List<String> fallback) {
    describe(key, "list of text", fallback);
    return textList(key, fallback);
  }

  private List<String> textList(String key, List<String> fallback) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (v.isValueNode()) {
      return List.of(expand(key, v.asText(), ""));
    }
    if (!v.isArray()) {
      error(key, "expected a list, was " + kind(v));
      return fallback;
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode e = v.get(i);
      if (e.isNull() || !e.isValueNode()) {
        error(key + "[" + i + "]", "expected a text value, was " + kind(e));
      } else {
        out.add(expand(key + "[" + i + "]", e.asText(), ""));
      }
    }
    return out;
  }

  public <E extends Enum<E>> E enumValue(String key, Class<E> type, E fallback) {
    describe(key, "one of " + names(type), fallback);
    String s = text(key, null);
    return s == null ? fallback : toEnum(key, s, type, fallback);
  }

  public <E extends Enum<E>> List<E> enumValues(String key, Class<E> type, List<E> fallback) {
    describe(key, "list of " + names(type), fallback);
    List<String> raw = textList(key, null);
    if (raw == null) {
      return fallback;
    }
    List<E> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      E e = toEnum(key + "[" + i + "]", raw.get(i), type, null);
      if (e != null) {
        out.add(e);
      }
    }
    return out;
  }

  private <E extends Enum<E>> E toEnum(String key, String s, Class<E> type, E fallback) {
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
        return e;
      }
    }
    error(key, quote(s) + " is not one of " + Arrays.stream(type.getEnumConstants())
        .map(ConfigNode::enumText).toList());
    return fallback;
  }

  private static <E extends Enum<E>> String names(Class<E> type) {
    return Arrays.stream(type.getEnumConstants()).map(ConfigNode::enumText).collect(Collectors.joining(", "));
  }

  /** An enum constant as the config spells it: {@code RECEIVE_TIME} is {@code receive-time} (either is accepted). */
  static String enumText(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * A mapping of names to sub-mappings, in file order. In describe mode it yields one member named
   * {@value #NAME_PLACEHOLDER}, so the keys of a member enter the reference as e.g. {@code brokers.<name>.uris}.
   */
  public Map<String, ConfigNode> entries(String key) {
    describe(key, "mapping of names", null);
    JsonNode v = take(key);
    Map<String, ConfigNode> out = new LinkedHashMap<>();
    if (catalog != null) {
      out.put(NAME_PLACEHOLDER, new ConfigNode(keyPath(key) + "." + NAME_PLACEHOLDER, null, errors, env, catalog, inScope));
      return out;
    }
    if (v == null) {
      return out;
    }
    if (!v.isObject()) {
      error(key, "expected a mapping of names, was " + kind(v));
      return out;
    }
    for (Map.Entry<String, JsonNode> e : v.properties()) {
      out.put(e.getKey(), new ConfigNode(keyPath(key) + "." + displayKey(e.getKey()), e.getValue(), errors, env, null, inScope));
    }
    return out;
  }

  /** Reports every key of this mapping that no getter asked for: almost always a typo. */
  public void finish() {
    if (!node.isObject()) {
      return;
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!used.contains(k)) {
        error(k, "unknown key" + (used.isEmpty() ? "" : " (known here: " + String.join(", ", used) + ")"));
      }
    }
  }

  // ---- how values appear in messages and in the reference ----

  private static String kind(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "a list";
      case OBJECT -> "a mapping";
      case BOOLEAN -> "a boolean";
      case NUMBER -> "the number " + shorten(n.asText());
      case STRING -> "text " + quote(n.asText());
      case NULL -> "empty";
      default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }

  /** A value quoted for a message: control characters escaped (no log injection), long text cut. */
  static String quote(String s) {
    return "\"" + safe(s, MAX_SHOWN) + "\"";
  }

  /** Text from the input for a message: control characters escaped, at most {@code max} characters. */
  static String safe(String s, int max) {
    String p = printable(s);
    return p.length() <= max ? p : p.substring(0, max) + "...(" + p.length() + " characters)";
  }

  private static String shorten(String s) {
    return safe(s, MAX_SHOWN);
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints().forEach(c -> {
      if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT || Character.getType(c) == Character.SURROGATE) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }

  private static String sorted(Set<String> s) {
    return String.join(", ", new TreeSet<>(s));
  }

  /** " 1..1024", " >= 1", " <= 10s" or "" (a bound equal to the type's own limit is not worth a word). */
  private static String range(boolean low, boolean high, String min, String max) {
    return low && high ? " " + min + ".." + max : low ? " >= " + min : high ? " <= " + max : "";
  }

  private static String show(Object v) {
    if (v instanceof Duration d) {
      return ConfigUnits.formatDuration(d);
    }
    if (v instanceof List<?> l) {
      return l.stream().map(ConfigNode::show).collect(Collectors.joining(", ", "[", "]"));
    }
    if (v instanceof Enum<?> e) {
      return enumText(e);
    }
    return String.valueOf(v);
  }
}
