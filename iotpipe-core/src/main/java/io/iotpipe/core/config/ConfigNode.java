package io.iotpipe.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.net.URI;
import java.net.URISyntaxException;
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
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A read cursor over one mapping of the YAML tree that knows its key path and records problems instead of throwing.
 *
 * <p>Why not bind with Jackson directly: data binding stops at the first error, and an operator fixing a config
 * deserves the complete list in one go. Every getter here returns a usable fallback after recording an error, so
 * reading continues; {@link #finish()} reports keys nobody asked for (typos such as {@code partitons}).
 */
public final class ConfigNode {

  private static final Pattern ENV = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?", Pattern.CASE_INSENSITIVE);

  private final String path;
  private final JsonNode node;
  private final List<ConfigError> errors;
  private final Function<String, String> env;
  private final Set<String> used = new LinkedHashSet<>();

  private ConfigNode(String path, JsonNode node, List<ConfigError> errors, Function<String, String> env) {
    this.path = path;
    this.node = node == null ? MissingNode.getInstance() : node;
    this.errors = errors;
    this.env = env;
    if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
      error("expected a mapping, was " + kind(this.node));
    }
  }

  public static ConfigNode root(JsonNode node, List<ConfigError> errors, Function<String, String> env) {
    return new ConfigNode("", node, errors, env);
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
    return path.isEmpty() ? key : path + "." + key;
  }

  public void error(String message) {
    errors.add(new ConfigError(path.isEmpty() ? "(root)" : path, message));
  }

  public void error(String key, String message) {
    errors.add(new ConfigError(keyPath(key), message));
  }

  private JsonNode take(String key) {
    used.add(key);
    JsonNode v = node.isObject() ? node.get(key) : null;
    return v == null || v.isNull() ? null : v;
  }

  public ConfigNode child(String key) {
    return new ConfigNode(keyPath(key), take(key), errors, env);
  }

  /** A string value; {@code ${VAR}} and {@code ${VAR:-default}} are expanded from the environment. */
  public String string(String key, String fallback) {
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
    String s = string(key, null);
    if (s == null || s.isBlank()) {
      if (!has(key)) {
        error(key, "required");
      }
      return "";
    }
    return s;
  }

  public String matching(String key, String fallback, Pattern shape, String hint) {
    String s = string(key, fallback);
    if (s != null && !shape.matcher(s).matches()) {
      error(key, "\"" + s + "\" is not valid: " + hint);
      return fallback;
    }
    return s;
  }

  private String expand(String key, String raw, String fallback) {
    Matcher m = ENV.matcher(raw);
    StringBuilder out = new StringBuilder();
    boolean ok = true;
    while (m.find()) {
      String value = env.apply(m.group(1));
      if (value == null) {
        value = m.group(2);
      }
      if (value == null) {
        error(key, "environment variable " + m.group(1) + " is not set (export it, or write ${" + m.group(1) + ":-default})");
        ok = false;
        value = "";
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return ok ? out.toString() : fallback;
  }

  /**
   * A credential. Must be an environment reference ({@code ${VAR}} or {@code ${VAR:-default}}): a literal password
   * in a file that ends up in version control is the leak we refuse to make easy.
   */
  public Secret secret(String key) {
    JsonNode v = take(key);
    if (v == null) {
      return Secret.NONE;
    }
    String raw = v.asText();
    if (!ENV.matcher(raw).matches()) {
      error(key, "credentials must reference an environment variable, e.g. ${IOTPIPE_PASSWORD} (literal values are not accepted)");
      return Secret.NONE;
    }
    String value = expand(key, raw, null);
    return value == null ? Secret.NONE : new Secret(raw.replaceAll(":-[^}]*}", "}"), value);
  }

  public int integer(String key, int fallback, int min, int max) {
    return (int) longValue(key, fallback, min, max);
  }

  public long longValue(String key, long fallback, long min, long max) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (v.isTextual()) {
      String s = expand(key, v.asText(), null);
      try {
        return range(key, Long.parseLong(s.trim()), min, max, fallback);
      } catch (RuntimeException e) {
        error(key, "expected an integer, was \"" + v.asText() + "\"");
        return fallback;
      }
    }
    if (!v.canConvertToExactIntegral()) {
      error(key, "expected an integer, was " + kind(v));
      return fallback;
    }
    return range(key, v.asLong(), min, max, fallback);
  }

  public double decimal(String key, double fallback, double min, double max) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (!v.isNumber()) {
      error(key, "expected a number, was " + kind(v));
      return fallback;
    }
    double d = v.asDouble();
    if (d < min || d > max) {
      error(key, "must be between " + min + " and " + max + ", was " + d);
      return fallback;
    }
    return d;
  }

  private long range(String key, long value, long min, long max, long fallback) {
    if (value < min || value > max) {
      error(key, "must be between " + min + " and " + max + ", was " + value);
      return fallback;
    }
    return value;
  }

  public boolean bool(String key, boolean fallback) {
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

  /** A duration such as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 90d}. */
  public Duration duration(String key, Duration fallback) {
    String s = string(key, null);
    if (s == null) {
      return fallback;
    }
    Duration d = parseDuration(s);
    if (d == null) {
      error(key, "expected a duration like 500ms, 30s, 5m, 2h or 90d, was \"" + s + "\"");
      return fallback;
    }
    return d;
  }

  public static Duration parseDuration(String s) {
    Matcher m = DURATION.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /** A size such as {@code 512KiB}, {@code 64MiB}, {@code 1GB}, or a plain number of bytes. */
  public long bytes(String key, long fallback) {
    JsonNode v = take(key);
    if (v == null) {
      return fallback;
    }
    if (v.canConvertToExactIntegral()) {
      return v.asLong();
    }
    Long b = parseBytes(v.asText());
    if (b == null) {
      error(key, "expected a size like 16KiB, 64MiB or 1GiB, was \"" + v.asText() + "\"");
      return fallback;
    }
    return b;
  }

  public static Long parseBytes(String s) {
    Matcher m = SIZE.matcher(s.trim());
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
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
      default -> 1L;
    };
    return n * mult;
  }

  public URI uri(String key, URI fallback, Set<String> schemes) {
    String s = string(key, null);
    return s == null ? fallback : toUri(key, s, schemes, fallback);
  }

  private URI toUri(String key, String s, Set<String> schemes, URI fallback) {
    try {
      URI u = new URI(s);
      if (u.getScheme() == null || !schemes.contains(u.getScheme()) || u.getHost() == null) {
        error(key, "\"" + s + "\" must be a URI with host and one of the schemes " + schemes);
        return fallback;
      }
      if (u.getUserInfo() != null && u.getUserInfo().contains(":")) {
        error(key, "put no password in a URI; use the username/password keys (password from the environment)");
        return fallback;
      }
      return u;
    } catch (URISyntaxException e) {
      error(key, "not a valid URI: " + e.getMessage());
      return fallback;
    }
  }

  /** A list of URIs; a single string is accepted as a list of one. */
  public List<URI> uris(String key, List<URI> fallback, Set<String> schemes) {
    List<String> raw = strings(key, null);
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
      if (!e.isValueNode()) {
        error(key + "[" + i + "]", "expected a text value, was " + kind(e));
      } else {
        out.add(expand(key + "[" + i + "]", e.asText(), ""));
      }
    }
    return out;
  }

  public <E extends Enum<E>> E enumValue(String key, Class<E> type, E fallback) {
    String s = string(key, null);
    return s == null ? fallback : toEnum(key, s, type, fallback);
  }

  public <E extends Enum<E>> List<E> enumValues(String key, Class<E> type, List<E> fallback) {
    List<String> raw = strings(key, null);
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
    error(key, "\"" + s + "\" is not one of " + Arrays.stream(type.getEnumConstants())
        .map(e -> e.name().toLowerCase(Locale.ROOT)).toList());
    return fallback;
  }

  /** A mapping of names to sub-mappings, in file order. */
  public Map<String, ConfigNode> entries(String key) {
    JsonNode v = take(key);
    Map<String, ConfigNode> out = new LinkedHashMap<>();
    if (v == null) {
      return out;
    }
    if (!v.isObject()) {
      error(key, "expected a mapping of names, was " + kind(v));
      return out;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      var e = it.next();
      out.put(e.getKey(), new ConfigNode(keyPath(key) + "." + e.getKey(), e.getValue(), errors, env));
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

  private static String kind(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "a list";
      case OBJECT -> "a mapping";
      case BOOLEAN -> "a boolean";
      case NUMBER -> "a number";
      case STRING -> "text \"" + n.asText() + "\"";
      default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }
}
