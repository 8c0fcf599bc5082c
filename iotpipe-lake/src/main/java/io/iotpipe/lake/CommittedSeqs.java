package io.iotpipe.lake;

import com.google.common.collect.DiscreteDomain;
import com.google.common.collect.Range;
import com.google.common.collect.RangeSet;
import com.google.common.collect.TreeRangeSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The readings of one source partition that are in a committed snapshot: per device, the committed {@code seq}s as
 * ranges (a device's seqs are mostly contiguous, so a device costs one or two ranges however long it reports). Exact
 * ranges rather than a high-water mark: a reading retried after later ones committed is not a duplicate.
 */
final class CommittedSeqs {

  private final Map<String, RangeSet<Long>> byDevice = new HashMap<>();

  boolean contains(String device, long seq) {
    RangeSet<Long> r = byDevice.get(device);
    return r != null && r.contains(seq);
  }

  void add(String device, long seq) {
    byDevice.computeIfAbsent(device, d -> TreeRangeSet.create()).add(Range.closedOpen(seq, seq + 1));
  }

  /** Adds {@code from..to}, both inclusive. */
  void addRange(String device, long from, long to) {
    byDevice.computeIfAbsent(device, d -> TreeRangeSet.create()).add(Range.closedOpen(from, to + 1));
  }

  CommittedSeqs copy() {
    CommittedSeqs c = new CommittedSeqs();
    byDevice.forEach((d, r) -> c.byDevice.put(d, TreeRangeSet.create(r)));
    return c;
  }

  int devices() {
    return byDevice.size();
  }

  /** {@code device -> [[from, to], ...]} with inclusive bounds, for the side file. */
  Map<String, List<long[]>> toRanges() {
    Map<String, List<long[]>> out = new java.util.TreeMap<>();
    forEachDevice(out::put);
    return out;
  }

  /** Each device with its committed ranges, {@code [from, to]} inclusive (the side file's form, written as it goes). */
  void forEachDevice(BiConsumer<String, List<long[]>> perDevice) {
    byDevice.forEach((d, set) -> {
      List<long[]> rs = new ArrayList<>();
      for (Range<Long> r : set.asRanges()) {
        Range<Long> c = r.canonical(DiscreteDomain.longs());
        rs.add(new long[] {c.lowerEndpoint(), c.upperEndpoint() - 1});
      }
      perDevice.accept(d, rs);
    });
  }

  static CommittedSeqs fromRanges(Map<String, List<long[]>> ranges) {
    CommittedSeqs c = new CommittedSeqs();
    ranges.forEach((d, rs) -> {
      RangeSet<Long> set = TreeRangeSet.create();
      for (long[] r : rs) {
        set.add(Range.closedOpen(r[0], r[1] + 1));
      }
      c.byDevice.put(d, set);
    });
    return c;
  }
}
