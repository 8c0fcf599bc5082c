package io.iotpipe.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * The committed seqs of one device as disjoint, sorted, inclusive ranges. A device's readings arrive almost in
 * order, so this is nearly always a single range {@code [1, n]}: exact dedupe (unlike a plain high-water mark it
 * stays right when an older reading arrives after a newer one) in a few bytes per device.
 */
public final class SeqRanges {

  private long[] from = new long[1];
  private long[] to = new long[1];
  private int size;

  public boolean contains(long seq) {
    int i = floor(seq);
    return i >= 0 && seq <= to[i];
  }

  /** Index of the last range starting at or before {@code seq}, or -1. */
  private int floor(long seq) {
    int lo = 0;
    int hi = size - 1;
    int ans = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (from[mid] <= seq) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  public void add(long seq) {
    addRange(seq, seq);
  }

  public void addRange(long a, long b) {
    int i = floor(a);
    if (i >= 0 && to[i] >= a - 1) {
      // overlaps or touches range i: extend it, then swallow following ranges it now reaches
      to[i] = Math.max(to[i], b);
    } else {
      insertAt(i + 1, a, b);
      i = i + 1;
    }
    int j = i + 1;
    while (j < size && from[j] <= to[i] + 1) {
      to[i] = Math.max(to[i], to[j]);
      j++;
    }
    int removed = j - (i + 1);
    if (removed > 0) {
      System.arraycopy(from, j, from, i + 1, size - j);
      System.arraycopy(to, j, to, i + 1, size - j);
      size -= removed;
    }
  }

  private void insertAt(int k, long a, long b) {
    if (size == from.length) {
      from = java.util.Arrays.copyOf(from, size * 2);
      to = java.util.Arrays.copyOf(to, size * 2);
    }
    System.arraycopy(from, k, from, k + 1, size - k);
    System.arraycopy(to, k, to, k + 1, size - k);
    from[k] = a;
    to[k] = b;
    size++;
  }

  public void addAll(SeqRanges other) {
    for (int k = 0; k < other.size; k++) {
      addRange(other.from[k], other.to[k]);
    }
  }

  /** {@code [[from, to], ...]} for the commit records. */
  public List<long[]> ranges() {
    List<long[]> out = new ArrayList<>(size);
    for (int k = 0; k < size; k++) {
      out.add(new long[] {from[k], to[k]});
    }
    return out;
  }

  public long max() {
    return size == 0 ? 0 : to[size - 1];
  }

  public long count() {
    long c = 0;
    for (int k = 0; k < size; k++) {
      c += to[k] - from[k] + 1;
    }
    return c;
  }
}
