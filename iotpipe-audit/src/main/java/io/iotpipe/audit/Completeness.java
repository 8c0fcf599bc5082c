package io.iotpipe.audit;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares what publishers had confirmed with what a sink holds, per device: the completeness indicator behind the
 * pipeline's SLO ("every confirmed reading is searchable / stored exactly once").
 *
 * <p>Feed it the expected readings ({@link #expect}) and every observed {@code (deviceId, seq)} row of a sink
 * ({@link #observe}), then {@link #result}. Memory is a bitset per device (seqs are dense), so tens of millions of
 * readings fit comfortably.
 */
public final class Completeness {

  /**
   * @param expected      readings confirmed to publishers
   * @param present       of those, found in the sink
   * @param lost          confirmed but not found (must be 0)
   * @param duplicates    extra copies of a reading found more than once (must be 0)
   * @param unconfirmed   found but never confirmed (published while a broker was failing; harmless)
   * @param devicesWithGaps devices missing at least one confirmed reading
   * @param examples      a few missing readings as {@code deviceId:seq}, to start an investigation
   */
  public record Result(long expected, long present, long lost, long duplicates, long unconfirmed, long devicesWithGaps,
                       List<String> examples) {
    public boolean complete() {
      return lost == 0 && duplicates == 0;
    }
  }

  private final Map<String, BitSet> expected = new HashMap<>();
  private final Map<String, BitSet> seen = new HashMap<>();
  private long duplicates;
  private long unconfirmed;

  /** Marks {@code seq} of {@code device} as confirmed. */
  public void expect(String device, long seq) {
    expected.computeIfAbsent(device, d -> new BitSet()).set(index(seq));
  }

  /** Marks seqs {@code from..to} (inclusive) of {@code device} as confirmed. */
  public void expectRange(String device, long from, long to) {
    expected.computeIfAbsent(device, d -> new BitSet()).set(index(from), index(to) + 1);
  }

  /** Records one row found in the sink. */
  public void observe(String device, long seq) {
    BitSet s = seen.computeIfAbsent(device, d -> new BitSet());
    int i = index(seq);
    if (s.get(i)) {
      duplicates++;
    } else {
      s.set(i);
      BitSet e = expected.get(device);
      if (e == null || !e.get(i)) {
        unconfirmed++;
      }
    }
  }

  private static int index(long seq) {
    if (seq < 1 || seq > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("seq out of auditable range: " + seq);
    }
    return (int) seq;
  }

  public Result result() {
    long exp = 0;
    long present = 0;
    long gaps = 0;
    List<String> examples = new ArrayList<>();
    for (var e : expected.entrySet()) {
      BitSet want = e.getValue();
      BitSet have = seen.getOrDefault(e.getKey(), new BitSet());
      BitSet found = (BitSet) want.clone();
      found.and(have);
      exp += want.cardinality();
      present += found.cardinality();
      if (found.cardinality() < want.cardinality()) {
        gaps++;
        BitSet missing = (BitSet) want.clone();
        missing.andNot(have);
        for (int i = missing.nextSetBit(0); i >= 0 && examples.size() < 10; i = missing.nextSetBit(i + 1)) {
          examples.add(e.getKey() + ":" + i);
        }
      }
    }
    return new Result(exp, present, exp - present, duplicates, unconfirmed, gaps, examples);
  }
}
