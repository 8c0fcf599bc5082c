package io.iotpipe.slo.sli;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class CompletenessTrackerTest {

  private final long[] now = {1_000_000};
  private final CompletenessTracker t = tracker(1000);

  private CompletenessTracker tracker(int maxDevices) {
    return new CompletenessTracker("elk", Duration.ofSeconds(60), maxDevices, 10_000, new SimpleMeterRegistry(), () -> now[0]);
  }

  @Test
  void inOrderReadingsAreAllGood() {
    for (int s = 1; s <= 100; s++) {
      t.delivered("a", s);
    }
    assertThat(t.readings()).isEqualTo(100);
    assertThat(t.missing()).isZero();
    assertThat(t.gapsOpen()).isZero();
  }

  @Test
  void aSkipOpensAGapThatALateArrivalWithinGraceCloses() {
    t.delivered("a", 1);
    t.delivered("a", 5); // 2, 3, 4 missing for now
    assertThat(t.gapsOpen()).isEqualTo(3);
    now[0] += 30_000;
    t.delivered("a", 3);
    t.delivered("a", 2);
    t.delivered("a", 4);
    now[0] += 120_000;
    t.sweep();
    assertThat(t.gapsOpen()).isZero();
    assertThat(t.missing()).isZero();
    assertThat(t.readings()).isEqualTo(5);
  }

  @Test
  void aGapOpenLongerThanTheGraceCountsItsReadingsMissing() {
    t.delivered("a", 1);
    t.delivered("a", 4);
    now[0] += 59_999;
    t.sweep();
    assertThat(t.missing()).isZero();
    now[0] += 1;
    t.sweep();
    assertThat(t.missing()).isEqualTo(2);
    assertThat(t.gapsOpen()).isZero();
    // arriving after that: late, not a good reading, not missing twice
    t.delivered("a", 2);
    assertThat(t.late()).isEqualTo(1);
    assertThat(t.readings()).isEqualTo(2);
    assertThat(t.missing()).isEqualTo(2);
  }

  @Test
  void redeliveriesAndDuplicatesAreNotCountedTwice() {
    t.delivered("a", 1);
    t.delivered("a", 2);
    t.delivered("a", 2);
    t.delivered("a", 1);
    assertThat(t.readings()).isEqualTo(2);
  }

  @Test
  void aDeadLetteredReadingClosesItsGapWithoutCountingAsGood() {
    t.delivered("a", 1);
    t.delivered("a", 3);
    t.deadLettered("a", 2);
    now[0] += 120_000;
    t.sweep();
    assertThat(t.missing()).isZero();
    assertThat(t.readings()).isEqualTo(2);
  }

  @Test
  void aHugeJumpIsARenumberingNotAMillionMissingReadings() {
    t.delivered("a", 5);
    t.delivered("a", 5_000_000);
    t.delivered("a", 1); // device reset
    t.delivered("a", 2);
    now[0] += 120_000;
    t.sweep();
    assertThat(t.resets()).isEqualTo(2);
    assertThat(t.missing()).isZero();
    assertThat(t.readings()).isEqualTo(4);
  }

  @Test
  void gapsInTheMiddleOfAGapSplitIt() {
    t.delivered("a", 1);
    t.delivered("a", 10); // 2..9 open
    t.delivered("a", 5);  // 2..4 and 6..9
    t.delivered("a", 2);
    t.delivered("a", 9);
    assertThat(t.gapsOpen()).isEqualTo(5);
    now[0] += 60_000;
    t.sweep();
    assertThat(t.missing()).isEqualTo(5);
  }

  @Test
  void memoryIsBoundedByDevicesAndGapsPerDevice() {
    CompletenessTracker small = tracker(100_000);
    for (int d = 0; d < 150_000; d++) {
      small.delivered("dev-" + d, 1);
    }
    assertThat(small.devicesTracked()).isEqualTo(100_000);
    // one device skipping every other seq: at most MAX_GAPS_PER_DEVICE ranges kept; the oldest are counted early
    for (int s = 1; s <= 200; s += 2) {
      small.delivered("gappy", s);
    }
    assertThat(small.gapsOpen()).isEqualTo(CompletenessTracker.MAX_GAPS_PER_DEVICE);
    assertThat(small.missing()).isEqualTo(99 - CompletenessTracker.MAX_GAPS_PER_DEVICE);
  }

  @Test
  void forgettingADeviceCountsItsOpenGapsAsMissing() {
    CompletenessTracker two = tracker(2);
    two.delivered("a", 1);
    two.delivered("a", 3);
    two.delivered("b", 1);
    two.delivered("c", 1); // "a" is the least recently seen: forgotten
    assertThat(two.devicesTracked()).isEqualTo(2);
    assertThat(two.missing()).isEqualTo(1);
    assertThat(two.gapsOpen()).isZero();
  }

  /**
   * Against a model that remembers everything: readings in order per device with some dropped and some delayed
   * (redelivered later, within the grace period) and some duplicated. After the grace period, good readings are
   * exactly the distinct seqs seen from each device's first one on, and missing are the rest of each span.
   */
  @Property(tries = 200)
  void countsMatchAFullMemoryModel(@ForAll @IntRange(min = 1, max = 20) int devices, @ForAll long seed) {
    Random rnd = new Random(seed);
    CompletenessTracker tr = tracker(1000);
    List<String[]> events = new ArrayList<>();
    Map<String, Long> first = new HashMap<>();
    Map<String, Long> max = new HashMap<>();
    Map<String, Set<Long>> seen = new HashMap<>();
    List<String[]> delayed = new ArrayList<>();
    for (int d = 0; d < devices; d++) {
      String id = "d" + d;
      long start = 1 + rnd.nextInt(50);
      int n = 1 + rnd.nextInt(60);
      int gaps = 0;
      for (long s = start; s < start + n; s++) {
        int r = rnd.nextInt(100);
        if (r < 5 && gaps < 6 && s > start) {
          gaps++; // dropped for good
        } else if (r < 12 && s > start && gaps < 6) {
          gaps++;
          delayed.add(new String[] {id, Long.toString(s)});
        } else {
          events.add(new String[] {id, Long.toString(s)});
          if (r > 95) {
            events.add(new String[] {id, Long.toString(s)}); // duplicate
          }
        }
      }
    }
    Collections.shuffle(delayed, rnd);
    // devices interleave; each device's own readings stay in order (a partition queue), delayed ones come last
    for (String[] e : events) {
      observe(tr, e, first, max, seen);
    }
    now[0] += 30_000;
    for (String[] e : delayed) {
      observe(tr, e, first, max, seen);
    }
    now[0] += 60_000;
    tr.sweep();
    long good = 0;
    long span = 0;
    for (String id : first.keySet()) {
      good += seen.get(id).size();
      span += max.get(id) - first.get(id) + 1;
    }
    assertThat(tr.readings()).isEqualTo(good);
    assertThat(tr.missing()).isEqualTo(span - good);
    assertThat(tr.gapsOpen()).isZero();
  }

  private static void observe(CompletenessTracker tr, String[] e, Map<String, Long> first, Map<String, Long> max,
                              Map<String, Set<Long>> seen) {
    String id = e[0];
    long s = Long.parseLong(e[1]);
    tr.delivered(id, s);
    first.putIfAbsent(id, s);
    if (s >= first.get(id)) {
      seen.computeIfAbsent(id, k -> new HashSet<>()).add(s);
      max.merge(id, s, Math::max);
    }
  }
}
