package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Inputs that once crashed the reader, or slipped through it: each is a complete list of errors with key paths. */
class InvalidConfigTest {

  /** A sound file, so that each test's one bad value is the only error. */
  static final String SOUND = """
      brokers:
        edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672}
        cloud: {uris: [amqp://127.0.0.1:5673]}
      topology: {edges: [edge], balancer: cloud}
      """;

  static List<String> errors(String yaml) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> IotpipeConfig.parse("t.yaml", yaml, n -> null));
    assertThat(e).as("expected errors for:\n" + yaml).isNotNull();
    assertThat(e.getMessage()).startsWith("t.yaml has " + e.errors().size() + " error");
    return e.errors().stream().map(ConfigError::toString).toList();
  }

  static List<String> storageErrors(String storageYaml) {
    return errors(SOUND + "storage: {" + storageYaml + "}\n");
  }

  @Test
  void theSoundFileIsSound() {
    assertThat(IotpipeConfig.parse("t.yaml", SOUND, n -> null).brokers()).containsKeys("edge", "cloud");
  }

  @Test
  void anEmptyFileSaysSoAndNamesTheRequiredKeys() {
    List<String> expected = List.of(
        "(file): the file is empty: start from iotpipe.example.yaml",
        "brokers: required: at least one broker (an edge and a cloud broker)",
        "topology.balancer: required: the name of the cloud broker under brokers:");
    assertThat(errors("")).containsExactlyElementsOf(expected);
    assertThat(errors("# only a comment\n")).containsExactlyElementsOf(expected);
  }

  @Test
  void aListOrAScalarAtTheRootIsNotAConfig() {
    assertThat(errors("- brokers\n- topology\n")).containsExactly(
        "(root): expected a mapping, was a list",
        "brokers: required: at least one broker (an edge and a cloud broker)",
        "topology.balancer: required: the name of the cloud broker under brokers:");
    assertThat(errors("42")).first().isEqualTo("(root): expected a mapping, was the number 42");
    assertThat(errors("hello")).first().isEqualTo("(root): expected a mapping, was text \"hello\"");
  }

  @Test
  void aFileWithOnlyAnUnknownKey() {
    assertThat(errors("frobnicate: 1\n")).containsExactly(
        "brokers: required: at least one broker (an edge and a cloud broker)",
        "topology.balancer: required: the name of the cloud broker under brokers:",
        "frobnicate: unknown key (known here: brokers, topology, contract, indexer, storage, simulator, observability, tenants, slo, security)");
  }

  @Test
  void unknownKeysAreReportedAtEveryLevel() {
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, edgeBuffer: {maxMesages: 5}}") + """
        indexer: {consumer: {prefetsh: 10, backoff: {inital: 1s}, retry: {attempt: 3}}}
        simulator: {regions: {eu: {utcOffset: 1}}}
        """)).containsExactlyInAnyOrder(
        "topology.edgeBuffer.maxMesages: unknown key (known here: maxMessages, maxBytes)",
        "indexer.consumer.backoff.inital: unknown key (known here: initial, max)",
        "indexer.consumer.retry.attempt: unknown key (known here: attempts, time)",
        "indexer.consumer.prefetsh: unknown key (known here: prefetch, batchMax, batchBytes, batchWait, backoff, retry, degradedAfter, maxRate)",
        "simulator.regions.eu.utcOffset: unknown key (known here: utcOffsetHours)");
  }

  @Test
  void durationsThatOverflowAreOutOfRange() {
    assertThat(storageErrors("rollAge: 99999999999999999999s"))
        .containsExactly("storage.rollAge: must be between 0s and 36500d, was 99999999999999999999s");
    assertThat(storageErrors("rollAge: 999999999999999d"))
        .containsExactly("storage.rollAge: must be between 0s and 36500d, was 999999999999999d");
    assertThat(storageErrors("rollAge: 36501d"))
        .containsExactly("storage.rollAge: must be between 0s and 36500d, was 36501d");
    assertThat(IotpipeConfig.parse("t", SOUND + "storage: {rollAge: 36500d}", n -> null).storage().rollAge().toDays())
        .isEqualTo(36_500);
  }

  @Test
  void sizesThatOverflowAreOutOfRange() {
    assertThat(storageErrors("rollBytes: 99999999999999999999MiB"))
        .containsExactly("storage.rollBytes: must be between 1 and 1PiB, was 99999999999999999999MiB");
    // 99999999999 GiB wrapped around a long and passed as some other number before.
    assertThat(storageErrors("rollBytes: 99999999999GiB"))
        .containsExactly("storage.rollBytes: must be between 1 and 1PiB, was 99999999999GiB");
    assertThat(storageErrors("rollBytes: 99999999999999999999"))
        .containsExactly("storage.rollBytes: must be between 1 and 1PiB, was 99999999999999999999");
    assertThat(storageErrors("rollBytes: -5"))
        .containsExactly("storage.rollBytes: must be between 1 and 1PiB, was -5");
    assertThat(storageErrors("rollBytes: 1.5"))
        .containsExactly("storage.rollBytes: expected a size like 16KiB, 64MiB or 1GiB, was the number 1.5");
  }

  @Test
  void integersThatOverflowAreOutOfRangeNotWrapped() {
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, partitions: 99999999999999999999}")))
        .containsExactly("topology.partitions: must be between 1 and 1024, was 99999999999999999999");
    // 2^32 + 4 would wrap to 4 if narrowed to an int before the range check.
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, partitions: 4294967300}")))
        .containsExactly("topology.partitions: must be between 1 and 1024, was 4294967300");
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, edgeBuffer: {maxMessages: 1.0e30}}")))
        .containsExactly("topology.edgeBuffer.maxMessages: must be between 1 and 9223372036854775807, was "
            + "1000000000000000000000000000000");
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, partitions: \"99999999999999999999\"}")))
        .containsExactly("topology.partitions: must be between 1 and 1024, was 99999999999999999999");
  }

  @Test
  void wrongTypesNameWhatWasFound() {
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, partitions: many, sinks: {a: 1}}") + """
        storage: {rollAge: 60, compaction: soon, formats: [[parquet]]}
        simulator: {rate: fast, regions: [eu]}
        observability: 9464
        """)).containsExactlyInAnyOrder(
        "topology.partitions: expected an integer, was \"many\"",
        "topology.sinks: expected a list, was a mapping",
        "storage.rollAge: expected a duration like 500ms, 30s, 5m, 2h or 90d, was \"60\" (add a unit)",
        "storage.compaction: expected a mapping, was text \"soon\"",
        "storage.formats[0]: expected a text value, was a list",
        "storage.formats: at least one format is required",
        "simulator.rate: expected a number, was text \"fast\"",
        "simulator.regions: expected a mapping of names, was a list",
        "observability: expected a mapping, was the number 9464");
  }

  @Test
  void danglingBrokerReferencesAreNamed() {
    assertThat(errors(SOUND.replace("topology: {edges: [edge], balancer: cloud}",
        "topology: {edges: [edge, nowhere], balancer: clowd, fanout: elsewhere, failover: [dr]}") + "simulator: {edge: edje}\n"))
        .containsExactlyInAnyOrder(
            "topology.balancer: must name a broker under brokers:, was \"clowd\" (defined: edge, cloud)",
            "topology.fanout: must name a broker under brokers:, was \"elsewhere\" (defined: edge, cloud)",
            "topology.edges[1]: must name a broker under brokers:, was \"nowhere\" (defined: edge, cloud)",
            "topology.failover[0]: must name a broker under brokers:, was \"dr\" (defined: edge, cloud)",
            "simulator.edge: must name a broker under brokers:, was \"edje\" (defined: edge, cloud)");
  }

  @Test
  void crossChecksRunOnlyOnValuesThatParsed() {
    // No topology at all: one error for the balancer, no NullPointerException, no cascade.
    assertThat(errors("brokers: {cloud: {uris: [amqp://h]}}\n"))
        .containsExactly("topology.balancer: required: the name of the cloud broker under brokers:");
    // An edge whose management URI is invalid: the invalid value is the one error, not also "required for an edge".
    assertThat(errors(SOUND.replace("management: http://127.0.0.1:15672", "management: ftp://x")))
        .containsExactly("brokers.edge.management: \"ftp://x\" must be a URI with host and one of the schemes http, https");
    // Brokers is not a mapping: the topology's references say "defined: none" once each, nothing crashes.
    assertThat(errors("brokers: [edge]\ntopology: {balancer: cloud}\n")).containsExactly(
        "brokers: expected a mapping of names, was a list",
        "brokers: define at least one broker (an edge and a cloud broker)",
        "topology.balancer: must name a broker under brokers:, was \"cloud\" (defined: none)");
  }

  @Test
  void syntaxErrorsCarryLineAndColumn() {
    assertThat(errors("brokers:\n  edge: {uris: [amqp://h]\ntopology: x\n")).singleElement().asString()
        .isEqualTo("line 3, column 1: while parsing a flow mapping; expected ',' or '}', but got <scalar>");
    assertThat(errors("topology:\n  balancer: \u0001\n")).containsExactly("line 2, column 13: character U+0001 is not allowed in YAML");
    assertThat(errors("topology:\n  partitions: 4\n  partitions: 5\n")).singleElement().asString()
        .startsWith("line 3, column ").contains("Duplicate field 'partitions'");
    assertThat(errors("a: b: c\n")).containsExactly("line 1, column 5: mapping values are not allowed here");
    assertThat(errors(SOUND + "---\nbrokers: {}\n")).singleElement().asString()
        .startsWith("line 6, column ").contains("a second YAML document");
  }

  @Test
  void valuesAreQuotedSafelyInMessages() {
    String evil = "x\u0000\ny" + "z".repeat(200);
    assertThat(errors(SOUND.replace("balancer: cloud}", "balancer: cloud, queueType: \"" + evil.replace("\u0000", "\\0").replace("\n", "\\n") + "\"}")))
        .singleElement().asString()
        .startsWith("topology.queueType: \"x\\u0000\\u000ayzzz")
        .contains("...(214 characters)")
        .doesNotContain("\n");
    assertThat(storageErrors("dir: \"a\\0b\"")).singleElement().asString()
        .startsWith("storage.dir: \"a\\u0000b\" is not a valid path");
    assertThat(storageErrors("dir: \"  \"")).containsExactly("storage.dir: must not be empty (remove the key for the default data/store)");
  }

  @Test
  void backoffBoundsAreChecked() {
    assertThat(errors(SOUND + "indexer: {consumer: {backoff: {initial: 0ms, max: 1s}}}\n"))
        .containsExactly("indexer.consumer.backoff.initial: must be between 1ms and 36500d, was 0ms");
    assertThat(errors(SOUND + "indexer: {consumer: {backoff: {initial: 5s, max: 1s}}}\n"))
        .containsExactly("indexer.consumer.backoff.max: must be at least backoff.initial, was 1s with initial 5s");
  }
}
