package io.iotpipe.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.envelope.Telemetry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a refused bulk is split: halves, each with its own latest state, down to one document. */
class BulkPartTest {

  static Telemetry reading(String device, long seq) {
    return new Telemetry(device, seq, Instant.parse("2026-11-20T10:00:00Z"), "s", "r", "IDLE", null, Map.of("powerKw", 1.0));
  }

  /** a:1, b:1, a:2, b:2, a:3 */
  static final List<Telemetry> BATCH = List.of(reading("a", 1), reading("b", 1), reading("a", 2), reading("b", 2), reading("a", 3));

  @Test
  void aPartCarriesEachDevicesHighestSeqAsItsLatestState() {
    BulkPart p = BulkPart.of(List.of(0, 1, 2, 3, 4), BATCH, true);
    assertThat(p.events()).containsExactly(0, 1, 2, 3, 4);
    assertThat(p.latest()).containsExactly(4, 3);
    assertThat(p.documents()).isEqualTo(7);
    assertThat(BulkPart.of(List.of(0, 1, 2), BATCH, false).latest()).isEmpty();
  }

  @Test
  void halvingEndsInSingleDocumentsAndLosesNoEventAndNoLatestState() {
    List<BulkPart> singles = new ArrayList<>();
    split(BulkPart.of(List.of(0, 1, 2, 3, 4), BATCH, true), singles);
    assertThat(singles).allSatisfy(p -> assertThat(p.documents()).isEqualTo(1));
    assertThat(singles.stream().flatMap(p -> p.events().stream()).toList()).as("every event once, in order")
        .containsExactly(0, 1, 2, 3, 4);
    // Every record's own latest state is written somewhere (external versions keep the highest seq in the index).
    assertThat(singles.stream().flatMap(p -> p.latest().stream()).distinct().sorted().toList()).containsExactly(0, 1, 2, 3, 4);
  }

  @Test
  void halvesSplitEventsInTheMiddleWithTheirOwnLatestState() {
    List<BulkPart> h = BulkPart.of(List.of(0, 1, 2, 3, 4), BATCH, true).halves(BATCH);
    assertThat(h.get(0)).isEqualTo(new BulkPart(List.of(0, 1), List.of(0, 1)));
    assertThat(h.get(1)).isEqualTo(new BulkPart(List.of(2, 3, 4), List.of(4, 3)));
  }

  @Test
  void oneReadingWithItsLatestStateSplitsIntoTheEventAloneAndTheStateAlone() {
    List<BulkPart> h = BulkPart.of(List.of(2), BATCH, true).halves(BATCH);
    assertThat(h).containsExactly(new BulkPart(List.of(2), List.of()), new BulkPart(List.of(), List.of(2)));
  }

  @Test
  void aSingleDocumentCannotBeSplit() {
    BulkPart one = BulkPart.of(List.of(3), BATCH, false);
    assertThat(one.splittable()).isFalse();
    assertThatThrownBy(() -> one.halves(BATCH)).isInstanceOf(IllegalStateException.class);
  }

  private static void split(BulkPart p, List<BulkPart> out) {
    if (!p.splittable()) {
      out.add(p);
      return;
    }
    for (BulkPart h : p.halves(BATCH)) {
      split(h, out);
    }
  }
}
