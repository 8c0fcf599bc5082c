package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reference, the validator and the README say the same thing about every key. */
class ConfigReferenceTest {

  static final String START = "<!-- config-reference:start -->";
  static final String END = "<!-- config-reference:end -->";
  /** The README (another file with the same markers can be named, e.g. to try the write mode on a copy). */
  private static final Path README = Path.of(System.getProperty("config.reference.readme", "../README.md"));

  @Test
  void everyKeyTheReaderAsksForIsDescribed() {
    List<String> undocumented = ConfigReference.entries().stream().filter(e -> e.description() == null)
        .map(e -> e.key().path()).toList();
    assertThat(undocumented).as("keys without a description: add a doc(...) line to ConfigReference").isEmpty();
  }

  @Test
  void everyDescriptionNamesAKeyTheReaderAsksFor() {
    assertThat(ConfigReference.staleDescriptions()).as("descriptions of keys nobody reads: remove or rename them").isEmpty();
  }

  @Test
  void theReferenceHasTheRealTypesRangesAndDefaults() {
    String md = ConfigReference.markdown();
    assertThat(md)
        .contains("| `topology.partitions` | integer 1..1024 | `4` |")
        .contains("| `storage.rollBytes` | size >= 1 | `128MiB` |")
        .contains("| `storage.rollAge` | duration | `1m` |")
        .contains("| `storage.compaction.every` | duration >= 1s | `10m` |")
        .contains("| `indexer.consumer.batchWait` | duration | `200ms` |")
        .contains("| `storage.consumer.batchWait` | duration | `5ms` |")
        .contains("| `brokers.<name>.uris` | list of URIs (amqp, amqps) | required |")
        .contains("| `topology.balancer` | text; must name a broker under brokers: | required |")
        .contains("| `topology.fanout` | text; must name a broker under brokers: | the balancer |");
  }

  @Test
  void everyKeyOfTheReferenceIsAKnownKeyOfTheValidator() throws Exception {
    // One file that sets every leaf key of the reference (to null: only "is it known" is in question here).
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    for (ConfigKey k : ConfigReference.keys()) {
      if (k.type().startsWith("mapping")) {
        continue;
      }
      String[] parts = k.path().replace(ConfigNode.NAME_PLACEHOLDER, "x").split("\\.");
      ObjectNode at = root;
      for (int i = 0; i < parts.length - 1; i++) {
        at = at.has(parts[i]) ? (ObjectNode) at.get(parts[i]) : at.putObject(parts[i]);
      }
      at.putNull(parts[parts.length - 1]);
    }
    String yaml = new YAMLMapper().writeValueAsString(root);
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> IotpipeConfig.parse("all-keys", yaml, n -> null));
    assertThat(e).isNotNull(); // required keys are null here
    assertThat(e.errors()).extracting(ConfigError::message).noneMatch(m -> m.startsWith("unknown key"));
    assertThat(yaml).contains("utcOffsetHours", "degradedAfter", "maxMessages");
  }

  @Test
  void theReadmeHoldsTheGeneratedReference() throws Exception {
    String readme = Files.readString(README);
    String generated = ConfigReference.markdown();
    int start = readme.indexOf(START);
    int end = readme.indexOf(END);
    if (Boolean.getBoolean("config.reference.write") && start >= 0 && end > start) {
      readme = readme.substring(0, start + START.length()) + "\n" + generated + readme.substring(end);
      Files.writeString(README, readme);
      start = readme.indexOf(START);
      end = readme.indexOf(END);
    }
    assertThat(start).as("README.md needs the markers " + START + " and " + END
        + " around the configuration reference (paste `iotpipe config reference` between them)").isNotNegative();
    assertThat(end).isGreaterThan(start);
    assertThat(readme.substring(start + START.length(), end).strip())
        .as("README's configuration reference is stale: paste `iotpipe config reference` between the markers, or run "
            + "this test with -Dconfig.reference.write=true")
        .isEqualTo(generated.strip());
  }
}
