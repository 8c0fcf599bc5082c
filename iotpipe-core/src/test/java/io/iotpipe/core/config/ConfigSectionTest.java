package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A plugin's own section is read, checked, reported and described like the built-in ones. */
class ConfigSectionTest {

  record Probe(int depth, Duration every) {}

  static final ConfigSection<Probe> PROBE = new ConfigSection<>() {
    @Override
    public String name() {
      return "probe";
    }

    @Override
    public Probe read(ConfigNode node) {
      int depth = node.integer("depth", 3, 1, 10);
      Duration every = node.duration("every", Duration.ofSeconds(5), Duration.ofSeconds(1), ConfigUnits.MAX_DURATION);
      node.check("every", "must be a whole number of seconds", every.toMillis() % 1000 == 0, ConfigUnits.formatDuration(every));
      return new Probe(depth, every);
    }

    @Override
    public Map<String, String> docs() {
      return Map.of("depth", "how deep", "every", "how often");
    }

    @Override
    public Map<String, Duration> visibleWithin(Probe settings) {
      return Map.of("probe", settings.every().multipliedBy(3));
    }
  };

  static IotpipeConfig parse(String yaml, List<ConfigError> errors) {
    var tree = YamlTree.parse(yaml, errors);
    return IotpipeConfig.read(ConfigNode.root(tree, errors, n -> null), List.of(PROBE));
  }

  @Test
  void aPluginSectionReadsWithDefaultsAndValues() {
    List<ConfigError> errors = new ArrayList<>();
    IotpipeConfig absent = parse(InvalidConfigTest.SOUND, errors);
    assertThat(errors).isEmpty();
    assertThat(absent.section(PROBE)).isEqualTo(new Probe(3, Duration.ofSeconds(5)));
    IotpipeConfig given = parse(InvalidConfigTest.SOUND + "probe: {depth: 7, every: 2m}\n", errors);
    assertThat(errors).isEmpty();
    assertThat(given.section(PROBE)).isEqualTo(new Probe(7, Duration.ofMinutes(2)));
  }

  @Test
  void itsErrorsComeWithTheOthersWithTheirPaths() {
    List<ConfigError> errors = new ArrayList<>();
    parse(InvalidConfigTest.SOUND + "probe: {depth: 70, every: 1500ms, dpeth: 1}\nindexer: {shards: 0}\n", errors);
    assertThat(errors).extracting(ConfigError::toString).contains(
        "probe.depth: must be between 1 and 10, was 70",
        "probe.every: must be a whole number of seconds, was 1500ms", "indexer.shards: must be between 1 and 1024, was 0")
        .anyMatch(e -> e.startsWith("probe.dpeth: unknown key"));
  }

  @Test
  void itsKeysAreDescribedInTheReference() {
    Map<String, ConfigKey> catalog = new LinkedHashMap<>();
    IotpipeConfig.read(ConfigNode.describing(catalog), List.of(PROBE));
    assertThat(catalog.get("probe.depth").type()).isEqualTo("integer 1..10");
    assertThat(catalog.get("probe.every").type()).isEqualTo("duration >= 1s");
    assertThat(catalog.get("probe.every").rules()).containsExactly("must be a whole number of seconds");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> IotpipeConfig.parse("t", "probe: 1\n", n -> null));
    assertThat(e.errors()).extracting(ConfigError::path).contains("probe"); // no such section on this class path
  }

  @Test
  void aSinkItsSectionConfiguresGetsTheFreshnessTargetItsSettingsImplyUnlessTheSloSectionSaysOtherwise() {
    List<ConfigError> errors = new ArrayList<>();
    String sinks = InvalidConfigTest.SOUND.replace("balancer: cloud}", "balancer: cloud, sinks: [elk, storage, probe]}");
    IotpipeConfig derived = parse(sinks + "probe: {every: 20s}\n", errors);
    assertThat(errors).isEmpty();
    assertThat(derived.slo().freshness().get("probe").within()).isEqualTo(Duration.ofMinutes(1));
    assertThat(derived.slo().freshness().get("elk").within()).isEqualTo(SloConfig.SEARCH_WITHIN);
    IotpipeConfig given = parse(sinks + "probe: {every: 20s}\nslo: {freshness: {sinks: {probe: {within: 2m}}}}\n", errors);
    assertThat(errors).isEmpty();
    assertThat(given.slo().freshness().get("probe").within()).isEqualTo(Duration.ofMinutes(2));
  }
}
