package io.iotpipe.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ground truth the audit compares the sinks with: it must come back from disk exactly as it was written. */
class LedgerTest {

  private static Ledger ledger(String runId, Object... deviceConfirmedPublished) {
    Map<String, Ledger.Entry> m = new LinkedHashMap<>();
    for (int i = 0; i < deviceConfirmedPublished.length; i += 3) {
      m.put((String) deviceConfirmedPublished[i], new Ledger.Entry(((Number) deviceConfirmedPublished[i + 1]).longValue(),
          ((Number) deviceConfirmedPublished[i + 2]).longValue()));
    }
    return new Ledger(runId, m);
  }

  @Test
  void roundTripsThroughAFileAndLeavesNoTemporaryFileBehind(@TempDir Path dir) throws Exception {
    Ledger l = ledger("r1", "evc-r1-eu-west-00000", 12, 12, "evc-r1-us-east-00001", 7, 9, "evc-r1-ap-00002", 0, 1);
    Path file = dir.resolve("sub/ledger.json");

    l.write(file);

    assertThat(Ledger.read(file)).isEqualTo(l);
    try (var files = Files.list(file.getParent())) {
      assertThat(files).containsExactly(file);
    }
    // a second write (a later snapshot of the same run) replaces the first
    Ledger later = ledger("r1", "evc-r1-eu-west-00000", 20, 21);
    later.write(file);
    assertThat(Ledger.read(file)).isEqualTo(later);
  }

  @Test
  void countsConfirmedReadingsOnly() {
    // published but unconfirmed readings (9 - 7, 1 - 0) may or may not have arrived: they are not promised
    assertThat(ledger("r", "a", 12, 12, "b", 7, 9, "c", 0, 1).confirmed()).isEqualTo(19);
  }

  @Test
  void mergesRunsWithoutLosingADevice() {
    Ledger merged = Ledger.merge(List.of(ledger("r1", "evc-r1-1", 3, 3), ledger("r2", "evc-r2-1", 5, 6, "evc-r2-2", 1, 1)));
    assertThat(merged.runId()).isEqualTo("r1,r2");
    assertThat(merged.devices()).containsOnly(Map.entry("evc-r1-1", new Ledger.Entry(3, 3)),
        Map.entry("evc-r2-1", new Ledger.Entry(5, 6)), Map.entry("evc-r2-2", new Ledger.Entry(1, 1)));
    assertThat(merged.confirmed()).isEqualTo(9);
  }

  @Test
  void aMissingLedgerIsReportedWithItsPath(@TempDir Path dir) {
    Path missing = dir.resolve("nope.json");
    assertThatThrownBy(() -> Ledger.read(missing)).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(missing.toString());
  }
}
