package io.iotpipe.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.ConfigReference;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The README's reference of the {@code lake:} section is generated from {@link LakeSection} itself (the product's
 * {@code config reference} shows it wherever the lake module is on the class path): every key described, and the
 * README holds exactly what the declarations say.
 */
class LakeReferenceTest {

  static final String START = "<!-- lake-reference:start -->";
  static final String END = "<!-- lake-reference:end -->";
  private static final Path README = Path.of("../README.md");

  @Test
  void everyLakeKeyIsDescribed() {
    String rows = ConfigReference.rows("lake");
    assertThat(rows).contains("| `lake.catalog.uri` |", "| `lake.commitInterval` | duration 100ms..1h | `5s` |",
        "set together with accessKey");
    assertThat(rows.lines().filter(l -> l.startsWith("| `lake")).filter(l -> l.endsWith("|  |"))).as("undescribed keys").isEmpty();
  }

  @Test
  void theReadmeHoldsTheGeneratedLakeReference() throws Exception {
    String readme = Files.readString(README);
    String generated = ConfigReference.rows("lake");
    int start = readme.indexOf(START);
    int end = readme.indexOf(END);
    assertThat(start).as("README.md needs the markers " + START + " and " + END).isNotNegative();
    if (Boolean.getBoolean("config.reference.write")) {
      readme = readme.substring(0, start + START.length()) + "\n" + generated + readme.substring(end);
      Files.writeString(README, readme);
      start = readme.indexOf(START);
      end = readme.indexOf(END);
    }
    assertThat(readme.substring(start + START.length(), end).strip())
        .as("README's lake reference is stale: run this test with -Dconfig.reference.write=true").isEqualTo(generated.strip());
  }
}
