package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code config reference} shows every rule {@code config check} enforces: each error a bad file produces is either a
 * type error (the reference's type column names the type), a range error whose bounds the type column shows, or
 * starts with a rule listed for that key. A check written by hand without declaring its rule fails here.
 */
class ConfigRulesTest {

  static final String SOUND = InvalidConfigTest.SOUND;

  /** Files that break one rule or range each, across every section that has hand-written checks. */
  static final List<String> BAD = List.of(
      SOUND + "indexer: {apiKey: \"${K}\", username: u}\n",
      SOUND + "indexer: {password: \"${P}\"}\n",
      SOUND + "indexer: {caFile: /nonexistent/ca.pem}\n",
      SOUND + "indexer: {maxInFlightBytes: 10KiB}\n",
      SOUND + "indexer: {consumer: {backoff: {initial: 5s, max: 1s}, prefetch: 0}}\n",
      SOUND + "slo: {window: 12h}\n",
      SOUND + "slo: {availability: {target: 100%}}\n",
      SOUND + "storage: {formats: []}\n",
      SOUND + "storage: {privacy: {columns: {deviceId: drop}}}\n",
      SOUND + "storage: {privacy: {columns: {site: pseudonymise}}}\n",
      SOUND + "storage: {privacy: {key: \"${SHORT}\", columns: {site: pseudonymise}}}\n",
      SOUND.replace("topology: {edges: [edge], balancer: cloud}", "topology: {edges: [edge, nowhere], balancer: clowd, failover: [dr], sinks: [a, a, \"B!\"]}"),
      SOUND.replace("topology: {edges: [edge], balancer: cloud}", "topology: {edges: [edge, cloud], balancer: cloud}"),
      SOUND.replace(", management: http://127.0.0.1:15672", "") ,
      SOUND + "simulator: {edge: edje}\n");

  private static final Pattern RANGE = Pattern.compile("^must be between (\\S+) and (\\S+), was ");
  private static final List<String> TYPE_ERRORS = List.of("expected ", "required", "unknown key", " is not one of ",
      " is not valid: ", " must be a URI ", "not a valid URI", " is not a valid path", "must not be empty",
      "environment variable ", "credentials must reference", "put no password in a URI", "define at least one");

  @Test
  void everyErrorOfCheckIsShownByTheReference() {
    List<ConfigKey> reference = ConfigReference.keys();
    int checked = 0;
    for (String yaml : BAD) {
      ConfigException e = catchThrowableOfType(ConfigException.class,
          () -> IotpipeConfig.parse("t.yaml", yaml, n -> n.equals("SHORT") ? "too short" : n.equals("K") || n.equals("P") ? "x" : null));
      assertThat(e).as("errors expected for:\n" + yaml).isNotNull();
      for (ConfigError err : e.errors()) {
        String path = err.path().replaceAll("\\[\\d+]", "").replaceFirst("^brokers\\.[^.]+\\.", "brokers.<name>.");
        Optional<ConfigKey> row = reference.stream().filter(k -> k.path().equals(path)).findFirst();
        assertThat(row).as("the reference has a row for %s (error: %s)", path, err).isPresent();
        ConfigKey k = row.get();
        String m = err.message();
        Matcher range = RANGE.matcher(m);
        if (range.find()) {
          String lo = range.group(1);
          String hi = range.group(2);
          assertThat(k.type()).as("the reference shows the range of %s", err)
              .satisfiesAnyOf(t -> assertThat(t).contains(lo + ".." + hi), t -> assertThat(t).contains(">= " + lo),
                  t -> assertThat(t).contains("<= " + hi));
        } else if (TYPE_ERRORS.stream().noneMatch(t -> m.startsWith(t) || m.contains(t))) {
          assertThat(k.rules()).as("the reference lists the rule that %s enforces", err).anyMatch(m::startsWith);
        }
        checked++;
      }
    }
    assertThat(checked).as("the corpus exercises the rules").isGreaterThanOrEqualTo(BAD.size());
  }

  @Test
  void theMarkdownShowsRulesNextToTheType() {
    assertThat(ConfigReference.markdown())
        .contains("| `indexer.maxInFlightBytes` | size 1MiB..1TiB |")
        .contains("| `slo.window` | duration >= 1d |")
        .contains("use either apiKey or username/password, not both");
  }
}
