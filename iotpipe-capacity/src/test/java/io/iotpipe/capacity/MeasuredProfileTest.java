package io.iotpipe.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A file `bench --save-profile` wrote, used by the planner and checked against its predictions. */
class MeasuredProfileTest {

  static final String BENCH = """
      {"schema": "iotpipe-bench-profile/1",
       "machine": {"nproc": 2, "busy": "no"},
       "measuredBy": {"indexerMsgsPerSecPerInstance": "bench index at 2026-11-25T15:00:00Z"},
       "indexerMsgsPerSecPerInstance": 13087, "indexerHeapCap": "256m", "storeMsgsPerSecPerInstance": 30000}
      """;

  @Test
  void theMeasuredConstantsReplaceTheReferenceOnesAndTheRestStays() {
    CapacityProfile p = CapacityProfile.parse("profile.json", BENCH.getBytes(StandardCharsets.UTF_8));
    CapacityProfile ref = CapacityProfile.reference();
    assertThat(p.get("indexerMsgPerSec")).isEqualTo(13087);
    assertThat(p.get("storeMsgPerSec")).isEqualTo(30000);
    assertThat(p.get("searchBytesPerDoc")).isEqualTo(ref.get("searchBytesPerDoc"));
    assertThat(p.constants().get("indexerMsgPerSec").source()).contains("bench index at 2026-11-25T15:00:00Z", "profile.json");
    // the planner sizes with them: fewer readings per indexer, more indexers
    var in = new CapacityPlanner.Input(1_000_000, java.time.Duration.ofSeconds(10), 250, 3, java.util.Map.of("eu", 1.0),
        java.time.Duration.ofDays(90), 0, java.time.Duration.ofHours(2), CapacityPlanner.Protocol.AMQP, true, 2);
    assertThat(CapacityPlanner.plan(in, p).value("cloud.indexerInstances"))
        .isGreaterThan(CapacityPlanner.plan(in, ref).value("cloud.indexerInstances"));
  }

  @Test
  void checkGivesRatioOfMeasuredToPredictedAndTheBand() throws Exception {
    var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(BENCH);
    CapacityProfile ref = CapacityProfile.reference();
    List<MeasuredProfile.Check> checks = MeasuredProfile.parse("profile.json", root).check(ref);
    var indexer = checks.stream().filter(c -> c.constant().equals("indexerMsgPerSec")).findFirst().orElseThrow();
    assertThat(indexer.predicted()).isEqualTo(ref.get("indexerMsgPerSec"));
    assertThat(indexer.ratio()).isEqualTo(13087 / ref.get("indexerMsgPerSec"));
    assertThat(indexer.withinBand()).isEqualTo(Math.abs(indexer.ratio() - 1) <= 0.25);
    var store = checks.stream().filter(c -> c.constant().equals("storeMsgPerSec")).findFirst().orElseThrow();
    assertThat(store.withinBand()).isEqualTo(Math.abs(30000 / ref.get("storeMsgPerSec") - 1) <= 0.25);
    assertThat(MeasuredProfile.text(ref.name(), checks)).contains("indexerMsgPerSec", "predicted", "measured", "ratio");
  }

  @Test
  void aBenchFileWithoutThroughputSaysWhatToRun() {
    assertThatThrownBy(() -> CapacityProfile.parse("p.json", "{\"schema\": \"iotpipe-bench-profile/1\", \"indexerHeapCap\": \"256m\"}"
        .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("bench index|store --save-profile p.json");
  }
}
