package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Whatever the file holds, reading it ends in a configuration or in a {@link ConfigException} listing errors with
 * key paths: never another exception (a stack trace for the operator). Tries are bounded so this runs in seconds.
 */
class ConfigPropertiesTest {

  private static final YAMLMapper YAML = new YAMLMapper();
  private static final Function<String, String> ENV = Map.of("SET", "42", "SET_TEXT", "s\u00e9t \u00fcnicode")::get;
  private static final String EXAMPLE = read(Path.of("../iotpipe.example.yaml"));
  /** Every key name the reader knows, so random trees often hit real getters rather than only "unknown key". */
  private static final List<String> REAL_KEYS = ConfigReference.keys().stream()
      .flatMap(k -> Arrays.stream(k.path().split("\\.")))
      .filter(s -> !s.equals(ConfigNode.NAME_PLACEHOLDER)).distinct().toList();

  // ---- the properties ----

  @Property(tries = 300)
  void arbitraryYamlTreesGiveAConfigOrErrors(@ForAll("trees") Object tree) throws Exception {
    Statistics.collect(check(YAML.writeValueAsString(tree)));
  }

  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void treesShapedLikeTheReferenceGiveAConfigOrErrors(@ForAll("guided") ObjectNode tree) throws Exception {
    Statistics.collect(check(YAML.writeValueAsString(tree)));
  }

  @Property(tries = 300)
  void mutationsOfTheExampleGiveAConfigOrErrors(@ForAll("mutations") List<Tuple.Tuple3<Integer, Integer, Object>> mutations)
      throws Exception {
    ObjectNode tree = (ObjectNode) YAML.readTree(EXAMPLE);
    for (var m : mutations) {
      mutate(tree, m.get1(), m.get2(), m.get3());
    }
    String outcome = check(YAML.writeValueAsString(tree));
    Statistics.collect(outcome);
    Statistics.coverage(c -> c.check("valid").count(n -> n > 0)); // some mutations keep the file valid ...
    Statistics.coverage(c -> c.check("errors").percentage(p -> p > 30)); // ... most break it
  }

  @Property(tries = 300)
  void textEditsOfTheExampleGiveAConfigOrErrors(@ForAll("edits") List<Tuple.Tuple3<Integer, Integer, String>> edits) {
    StringBuilder text = new StringBuilder(EXAMPLE);
    for (var e : edits) {
      int at = Math.floorMod(e.get1(), text.length() + 1);
      int len = Math.min(e.get2(), text.length() - at);
      text.replace(at, at + len, e.get3());
    }
    Statistics.collect(check(text.toString()));
  }

  // ---- the oracle ----

  /** "valid" or "errors"; anything thrown other than a ConfigException with sound errors fails the property. */
  static String check(String yaml) {
    try {
      IotpipeConfig.parse("fuzz.yaml", yaml, ENV);
      return "valid";
    } catch (ConfigException e) {
      assertThat(e.errors()).isNotEmpty().allSatisfy(err -> {
        assertThat(err.path()).isNotBlank().doesNotContain("\n", "\r", "\u0000");
        assertThat(err.message()).isNotBlank().doesNotContain("\n", "\r", "\u0000");
      });
      return "errors";
    }
  }

  // ---- generators ----

  @Provide
  Arbitrary<Object> trees() {
    return tree(4);
  }

  private Arbitrary<Object> tree(int depth) {
    if (depth == 0) {
      return scalars();
    }
    Arbitrary<Object> child = Arbitraries.lazy(() -> tree(depth - 1));
    return Arbitraries.frequencyOf(
        Tuple.of(3, scalars()),
        Tuple.of(4, Arbitraries.maps(keys(), child).ofMaxSize(6).map(m -> m)),
        Tuple.of(1, child.list().ofMaxSize(4).map(l -> l)));
  }

  /** A tree that sets random keys of the reference (at their real paths) to random values, sometimes on the example. */
  @Provide
  Arbitrary<ObjectNode> guided() {
    List<String> paths = ConfigReference.keys().stream().map(ConfigKey::path).toList();
    Arbitrary<String> names = Arbitraries.oneOf(Arbitraries.of("edge", "cloud", "eu-west"), text());
    Arbitrary<Tuple.Tuple3<String, String, Object>> setting = Combinators.combine(Arbitraries.of(paths), names,
        Arbitraries.frequencyOf(Tuple.of(5, scalars()), Tuple.of(1, Arbitraries.lazy(() -> tree(2))))).as(Tuple::of);
    return Combinators.combine(Arbitraries.of(true, false), setting.list().ofMaxSize(12)).as((onExample, settings) -> {
      ObjectNode root = onExample ? (ObjectNode) readTree(EXAMPLE) : JsonNodeFactory.instance.objectNode();
      for (var s : settings) {
        String[] parts = s.get1().replace(ConfigNode.NAME_PLACEHOLDER, s.get2()).split("\\.");
        ObjectNode at = root;
        for (int i = 0; i < parts.length - 1; i++) {
          at = at.get(parts[i]) instanceof ObjectNode o ? o : at.putObject(parts[i]);
        }
        at.set(parts[parts.length - 1], YAML.valueToTree(s.get3()));
      }
      return root;
    });
  }

  @Provide
  Arbitrary<List<Tuple.Tuple3<Integer, Integer, Object>>> mutations() {
    Arbitrary<Object> value = Arbitraries.frequencyOf(Tuple.of(4, scalars()), Tuple.of(1, Arbitraries.lazy(() -> tree(2))));
    return Combinators.combine(Arbitraries.integers().greaterOrEqual(0), Arbitraries.integers().between(0, 3), value)
        .as(Tuple::of).list().ofMinSize(1).ofMaxSize(4);
  }

  @Provide
  Arbitrary<List<Tuple.Tuple3<Integer, Integer, String>>> edits() {
    Arbitrary<String> insert = Arbitraries.oneOf(Arbitraries.of("", ":", "- ", "\n", "  ", "{", "]", "&a ", "*a", "---\n",
        "!!binary ", "\t", "#", "\"", "'", "${", "99999999999999999999"), text());
    return Combinators.combine(Arbitraries.integers().greaterOrEqual(0), Arbitraries.integers().between(0, 8), insert)
        .as(Tuple::of).list().ofMinSize(1).ofMaxSize(3);
  }

  /** Replace, remove, add or wrap a node chosen among all nodes of the tree (in depth-first order). */
  private static void mutate(ObjectNode root, int pick, int kind, Object value) {
    List<JsonNode> containers = new ArrayList<>();
    collect(root, containers);
    JsonNode c = containers.get(Math.floorMod(pick, containers.size()));
    JsonNode v = YAML.valueToTree(value);
    if (c instanceof ObjectNode o) {
      List<String> names = new ArrayList<>();
      o.fieldNames().forEachRemaining(names::add);
      String name = names.isEmpty() ? "x" : names.get(Math.floorMod(pick / 7, names.size()));
      switch (kind) {
        case 0 -> o.set(name, v);
        case 1 -> o.remove(name);
        case 2 -> o.set(value instanceof String s && !s.isEmpty() ? s : REAL_KEYS.get(Math.floorMod(pick, REAL_KEYS.size())), v);
        default -> o.set(name, JsonNodeFactory.instance.arrayNode().add(o.path(name)));
      }
    } else if (c instanceof ArrayNode a) {
      int i = a.isEmpty() ? 0 : Math.floorMod(pick / 7, a.size());
      switch (kind) {
        case 0 -> {
          if (a.isEmpty()) {
            a.add(v);
          } else {
            a.set(i, v);
          }
        }
        case 1 -> {
          if (!a.isEmpty()) {
            a.remove(i);
          }
        }
        default -> a.add(v);
      }
    }
  }

  private static void collect(JsonNode n, List<JsonNode> out) {
    if (n.isContainerNode()) {
      out.add(n);
      for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
        collect(it.next(), out);
      }
    }
  }

  private Arbitrary<String> keys() {
    return Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.of(REAL_KEYS)), Tuple.of(1, text()),
        Tuple.of(1, Arbitraries.of("edge", "cloud", "x", "", "<name>", "a.b", "0")));
  }

  /** Scalars a config file can hold, biased towards the edges: huge, negative, unicode, empty, references. */
  private Arbitrary<Object> scalars() {
    Arbitrary<BigInteger> huge = Arbitraries.bigIntegers().between(BigInteger.TEN.pow(30).negate(), BigInteger.TEN.pow(30));
    Arbitrary<String> number = Arbitraries.oneOf(huge.map(BigInteger::toString), Arbitraries.longs().map(String::valueOf),
        Arbitraries.of("0", "1", "-1", "99999999999999999999", "999999999999999", "99999999999", "01", "1_000"));
    Arbitrary<String> unit = Arbitraries.of("", "ms", "s", "m", "h", "d", "w", " s", "B", "KiB", "MiB", "GiB", "TiB", "PiB",
        "kb", "GB", "%", ".5s");
    Arbitrary<String> withUnit = Combinators.combine(number, unit).as(String::concat);
    Arbitrary<String> refs = Arbitraries.of("${SET}", "${SET_TEXT}", "${UNSET}", "${UNSET:-7}", "${UNSET:-}", "${SET}s",
        "${", "$${SET}", "amqp://h:5672", "http://h:9200", "http://u:p@h", "amqp://", "tcp://[::1]:1883", "ftp://x",
        "::", "%zz", "edge", "cloud", "quorum", "parquet", "daily");
    Arbitrary<Object> nothing = Arbitraries.just(null);
    return Arbitraries.frequencyOf(
        Tuple.of(4, withUnit.map(s -> s)),
        Tuple.of(3, refs.map(s -> s)),
        Tuple.of(2, text().map(s -> s)),
        Tuple.of(2, huge.map(b -> b)),
        Tuple.of(2, Arbitraries.longs().map(l -> l)),
        Tuple.of(1, Arbitraries.integers().between(-3, 5000).map(i -> i)),
        Tuple.of(1, Arbitraries.doubles().map(d -> d)),
        Tuple.of(1, Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, -0.0, 1e300, 4.0, 2.5).map(d -> d)),
        Tuple.of(1, Arbitraries.of(true, false).map(b -> b)),
        Tuple.of(1, nothing));
  }

  /** Any text, including control characters, non-BMP characters and right-to-left marks (no lone surrogates). */
  private static Arbitrary<String> text() {
    Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.integers().between(0x20, 0x7e)),
        Tuple.of(1, Arbitraries.integers().between(0, 0x1f)),
        Tuple.of(2, Arbitraries.integers().between(0x80, 0xd7ff)),
        Tuple.of(1, Arbitraries.integers().between(0xe000, 0x10ffff)),
        Tuple.of(1, Arbitraries.of(0x200f, 0x202e, 0xfeff, 0x85, 0x2028)));
    return codePoint.list().ofMaxSize(12).map(cps -> {
      StringBuilder b = new StringBuilder();
      cps.forEach(b::appendCodePoint);
      return b.toString();
    });
  }

  private static JsonNode readTree(String yaml) {
    try {
      return YAML.readTree(yaml);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
