package io.iotpipe.elasticsearch;

import io.iotpipe.core.envelope.Telemetry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of a batch that goes into one {@code _bulk} request: the batch indices of the records whose event
 * documents it carries, in order, and of those whose latest-state document it carries (per device the highest
 * {@code seq} among its events). A batch is sent as one part; a part the engine refuses as too large is halved until
 * the parts pass or a single document is left (see {@link #halves}).
 */
record BulkPart(List<Integer> events, List<Integer> latest) {

  BulkPart {
    events = List.copyOf(events);
    latest = List.copyOf(latest);
  }

  /** The part carrying {@code records} (batch indices) and, with {@code latestState}, each device's latest reading. */
  static BulkPart of(List<Integer> records, List<Telemetry> batch, boolean latestState) {
    if (!latestState) {
      return new BulkPart(records, List.of());
    }
    Map<String, Integer> latestOf = new LinkedHashMap<>();
    for (int i : records) {
      latestOf.merge(batch.get(i).deviceId(), i, (a, b) -> batch.get(a).seq() >= batch.get(b).seq() ? a : b);
    }
    return new BulkPart(records, new ArrayList<>(latestOf.values()));
  }

  /** Bulk items (documents) in this part. */
  int documents() {
    return events.size() + latest.size();
  }

  /** Whether it holds more than one document, so it can be halved. */
  boolean splittable() {
    return documents() > 1;
  }

  /**
   * Two parts with about half the documents each. Events are split in the middle (each half with the latest state
   * of its own events: both are written with external versions, so the higher {@code seq} wins whichever lands
   * last); one reading with its latest state becomes its event alone and its latest state alone, so the event is not
   * rejected for a document it does not need; latest-state documents alone are split in the middle.
   */
  List<BulkPart> halves(List<Telemetry> batch) {
    if (!splittable()) {
      throw new IllegalStateException("a single document cannot be split");
    }
    boolean latestState = !latest.isEmpty();
    if (events.size() >= 2) {
      int mid = events.size() / 2;
      return List.of(of(events.subList(0, mid), batch, latestState), of(events.subList(mid, events.size()), batch, latestState));
    }
    if (events.size() == 1) {
      return List.of(new BulkPart(events, List.of()), new BulkPart(List.of(), latest));
    }
    int mid = latest.size() / 2;
    return List.of(new BulkPart(List.of(), latest.subList(0, mid)), new BulkPart(List.of(), latest.subList(mid, latest.size())));
  }
}
