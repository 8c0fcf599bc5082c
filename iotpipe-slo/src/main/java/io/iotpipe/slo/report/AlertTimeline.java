package io.iotpipe.slo.report;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * When each alert went pending, fired and resolved, from repeated polls of {@code /api/v1/alerts}: what a chaos run
 * or the demo report shows per scenario. Call {@link #poll} every second or so while the scenario runs (Prometheus
 * itself keeps no history of resolved alerts without Alertmanager).
 */
public final class AlertTimeline {

  /** One transition: {@code state} is pending, firing or resolved. */
  public record Event(Instant at, String alert, Map<String, String> labels, String state) {}

  /** Source of the current alerts (a {@link PrometheusApi}, or a fake in tests). */
  @FunctionalInterface
  public interface Source {
    List<PrometheusApi.Alert> alerts() throws IOException;
  }

  private final Source source;
  private final Map<String, String> lastState = new LinkedHashMap<>();
  private final Map<String, Map<String, String>> labelsOf = new LinkedHashMap<>();
  private final List<Event> events = new ArrayList<>();

  public AlertTimeline(Source source) {
    this.source = source;
  }

  /** Records the transitions since the last poll; an alert that disappeared has resolved. */
  public synchronized List<Event> poll(Instant now) throws IOException {
    Map<String, String> seen = new LinkedHashMap<>();
    List<Event> fresh = new ArrayList<>();
    for (PrometheusApi.Alert a : source.alerts()) {
      String key = new TreeMap<>(a.labels()).toString();
      seen.put(key, a.state());
      labelsOf.put(key, a.labels());
      if (!a.state().equals(lastState.get(key))) {
        fresh.add(new Event(now, a.labels().get("alertname"), a.labels(), a.state()));
      }
    }
    for (String key : lastState.keySet()) {
      if (!seen.containsKey(key)) {
        Map<String, String> l = labelsOf.get(key);
        fresh.add(new Event(now, l.get("alertname"), l, "resolved"));
      }
    }
    lastState.clear();
    lastState.putAll(seen);
    events.addAll(fresh);
    return fresh;
  }

  public synchronized List<Event> events() {
    return List.copyOf(events);
  }

  /** Whether an alert matching all of {@code labels} reached {@code state} at some poll. */
  public synchronized boolean reached(Map<String, String> labels, String state) {
    return events.stream().anyMatch(e -> e.state().equals(state) && e.labels().entrySet().containsAll(labels.entrySet()));
  }
}
