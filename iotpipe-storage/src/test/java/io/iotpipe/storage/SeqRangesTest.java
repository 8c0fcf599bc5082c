package io.iotpipe.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * {@link SeqRanges} decides which redelivered readings are already committed: a wrong answer either loses a reading
 * (acked as a duplicate) or doubles it. It is checked against Guava's {@link TreeRangeSet} over random histories.
 */
class SeqRangesTest {

  /** One step of a history, applied alike to the structure under test and to the reference. */
  sealed interface Op {
    void apply(SeqRanges ranges, RangeSet<Long> reference);
  }

  record Add(long seq) implements Op {
    public void apply(SeqRanges ranges, RangeSet<Long> reference) {
      ranges.add(seq);
      reference.add(closed(seq, seq));
    }
  }

  record AddRange(long from, long to) implements Op {
    public void apply(SeqRanges ranges, RangeSet<Long> reference) {
      ranges.addRange(from, to);
      reference.add(closed(from, to));
    }
  }

  /** Merging a commit's delta into the committed set, as {@code CommitLog.commit} does. */
  record AddAll(List<Op> delta) implements Op {
    public void apply(SeqRanges ranges, RangeSet<Long> reference) {
      SeqRanges other = new SeqRanges();
      RangeSet<Long> otherReference = TreeRangeSet.create();
      delta.forEach(op -> op.apply(other, otherReference));
      ranges.addAll(other);
      reference.addAll(otherReference);
    }
  }

  /** {@code [from, to]} as a half-open range, so that touching ranges ([1,3] and [4,6]) coalesce as in SeqRanges. */
  private static Range<Long> closed(long from, long to) {
    return Range.closedOpen(from, to + 1);
  }

  @Property(tries = 1000)
  void agreesWithTreeRangeSet(@ForAll("histories") List<Op> history) {
    SeqRanges ranges = new SeqRanges();
    RangeSet<Long> reference = TreeRangeSet.create();
    for (Op op : history) {
      op.apply(ranges, reference);
      assertSameAs(reference, ranges, op);
    }
  }

  private static void assertSameAs(RangeSet<Long> reference, SeqRanges ranges, Op after) {
    List<List<Long>> expected = new ArrayList<>();
    long count = 0;
    for (Range<Long> r : reference.asRanges()) {
      expected.add(List.of(r.lowerEndpoint(), r.upperEndpoint() - 1));
      count += r.upperEndpoint() - r.lowerEndpoint();
    }
    assertThat(ranges.ranges()).as("ranges after %s", after).map(p -> List.of(p[0], p[1])).isEqualTo(expected);
    assertThat(ranges.count()).as("count after %s", after).isEqualTo(count);
    assertThat(ranges.max()).as("max after %s", after)
        .isEqualTo(reference.isEmpty() ? 0 : reference.span().upperEndpoint() - 1);
    // contains: probe every boundary and its neighbours (where an off-by-one would show), plus seq 1
    List<Long> probes = new ArrayList<>(List.of(1L));
    for (Range<Long> r : reference.asRanges()) {
      for (long p : new long[] {r.lowerEndpoint() - 1, r.lowerEndpoint(), r.lowerEndpoint() + 1,
          r.upperEndpoint() - 2, r.upperEndpoint() - 1, r.upperEndpoint()}) {
        probes.add(p);
      }
    }
    for (long p : probes) {
      assertThat(ranges.contains(p)).as("contains(%d) after %s", p, after).isEqualTo(reference.contains(p));
    }
  }

  @Provide
  Arbitrary<List<Op>> histories() {
    return op(true).list().ofMaxSize(60);
  }

  private Arbitrary<Op> op(boolean withAddAll) {
    // Mostly small seqs so that ranges meet, overlap and touch; sometimes the far end of the seq space.
    Arbitrary<Long> seq = Arbitraries.frequencyOf(
        Tuple.of(8, Arbitraries.longs().between(1, 120)),
        Tuple.of(1, Arbitraries.longs().between(Long.MAX_VALUE - 40, Long.MAX_VALUE - 1)));
    Arbitrary<Op> add = seq.map(Add::new);
    Arbitrary<Op> addRange = Combinators.combine(seq, Arbitraries.longs().between(0, 30))
        .as((from, len) -> new AddRange(from, from + Math.min(len, Long.MAX_VALUE - 1 - from)));
    if (!withAddAll) {
      return Arbitraries.oneOf(add, addRange);
    }
    Arbitrary<Op> addAll = op(false).list().ofMaxSize(8).map(AddAll::new);
    return Arbitraries.frequencyOf(
        Tuple.of(5, add), Tuple.of(3, addRange), Tuple.of(1, addAll));
  }

  @Test
  void keepsTheUsualCaseAsOneRange() {
    SeqRanges r = new SeqRanges();
    for (long s = 1; s <= 1000; s++) {
      r.add(s == 500 ? 1000 : s == 1000 ? 500 : s); // one reading overtaken by a later one
    }
    assertThat(r.ranges()).hasSize(1);
    assertThat(r.count()).isEqualTo(1000);
    assertThat(r.contains(1001)).isFalse();
  }
}
