package io.iotpipe.tools.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report a person reads: one colour per stage in every chart, and every axis says what it shows. */
class HtmlReportTest {

  @Test
  void eachStageKeepsItsColourAcrossChartsAndAxesAreLabelled(@TempDir Path dir) throws Exception {
    List<Sample> samples = List.of(new Sample(0, 0, 0, 0, 0, 0, 0, 0, 0), new Sample(1, 100, 100, 90, 80, 1, 5, 10, 20),
        new Sample(2, 200, 200, 190, 180, 2, 0, 5, 10));
    Path file = dir.resolve("report.html");
    HtmlReport.write(file, true, Map.of("lost", "0"), samples, Map.of(100L, 5L, 250L, 3L));
    String html = Files.readString(file);
    // Every legend entry pairs a colour with a name; a name must always come with the same colour.
    Matcher m = Pattern.compile("<i style='background:(#[0-9A-Fa-f]{6})'></i>([^<]+)</span>").matcher(html);
    Map<String, String> colourOf = new java.util.HashMap<>();
    int entries = 0;
    while (m.find()) {
      entries++;
      String stage = m.group(2).startsWith("elk") ? "indexed" : m.group(2).startsWith("storage") ? "stored" : m.group(2);
      String before = colourOf.putIfAbsent(stage, m.group(1));
      assertThat(before == null || before.equals(m.group(1))).as("%s drawn in %s and %s", stage, before, m.group(1)).isTrue();
    }
    assertThat(entries).isGreaterThanOrEqualTo(9);
    assertThat(colourOf.get("indexed")).isEqualTo(HtmlReport.STAGE_COLORS.get("indexed"));
    assertThat(html).contains("time since start (s)").contains("messages per second").contains("messages waiting")
        .contains("publish to durable, ms");
  }
}
