package io.iotpipe.runtime.forward;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which edge deliveries may be acked: only those whose batch the cloud confirmed, and — so that one frame covers many
 * — only up to the highest tag below which every delivery is confirmed ({@code basic.ack multiple=true}). A
 * confirmed delivery above an unconfirmed one waits; that wait is bounded by the linger, since every delivery is in
 * a batch that closes within it. Thread-safe.
 */
final class EdgeAcks {

  private final TreeSet<Long> outstanding = new TreeSet<>();
  private final Set<Long> confirmed = new HashSet<>();

  synchronized void delivered(long tag) {
    outstanding.add(tag);
  }

  /** Records confirmed deliveries; returns the tag to ack with {@code multiple=true}, or -1 when none may be acked yet. */
  synchronized long confirmed(Collection<Long> tags) {
    confirmed.addAll(tags);
    long upTo = -1;
    while (!outstanding.isEmpty() && confirmed.remove(outstanding.first())) {
      upTo = outstanding.pollFirst();
    }
    return upTo;
  }

  /** Deliveries taken from the edge and not acked yet. */
  synchronized int unacked() {
    return outstanding.size();
  }
}
