package io.iotpipe.cli.dlq;

import io.iotpipe.runtime.dlq.DeadLetters;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DlqCommandTest {

  @Test
  void aReasonFromAMessageCannotForgeALineOfTheListing() {
    String reason = "invalid telemetry: deviceId: \"ch-1\nERROR all partitions lost\u0000\" does not match ...";
    assertThat(DlqCommand.listLine(3, reason)).doesNotContain("\n").doesNotContain("\u0000")
        .isEqualTo("       3  invalid telemetry: deviceId: \"ch-1\\nERROR all partitions lost\\u0000\" does not match ...");
  }

  @Test
  void showPrintsOneEntryPerLetterWithEscapedFields() {
    var letter = new DeadLetters.Letter("bad\r\nreason", "elk.3", "2026-11-25T12:00:00Z", "id\u001b[31m", "{\"a\":\"\u202E\"}");
    assertThat(DlqCommand.showEntry(letter).lines()).containsExactly(
        "- id\\u001B[31m (from elk.3 at 2026-11-25T12:00:00Z)",
        "  reason: bad\\r\\nreason",
        "  body:   {\"a\":\"\\u202E\"}");
    assertThat(DlqCommand.showEntry(new DeadLetters.Letter("r", null, null, null, "x")).lines().findFirst())
        .hasValue("- null (from null at null)");
  }

  @Test
  void replayFilterMatchesTheReasonAsPrinted() {
    String reason = "invalid telemetry: deviceId: \"a\nb\" does not match";
    assertThat(DlqCommand.reasonMatches(reason, "\"a\\nb\"")).isTrue(); // what `dlq list` showed
    assertThat(DlqCommand.reasonMatches(reason, "a\nb")).isTrue(); // the raw text, e.g. from a script
    assertThat(DlqCommand.reasonMatches(reason, "seq:")).isFalse();
    assertThat(DlqCommand.reasonMatches(reason, null)).isTrue();
  }
}
