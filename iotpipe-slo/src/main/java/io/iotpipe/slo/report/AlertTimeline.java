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

  /**
   * One time an alert fired: when, and when it resolved afterwards (null: still firing at the last poll). An alert
   * that only went pending is not a span: its {@code for:} never elapsed.
   */
  public record Span(Map<String, String> labels, Instant fired, Instant resolved) {
    /** {@code page availability/storage 1h/5m}: severity, SLO/sink and the window pair of a burn-rate alert. */
    public String name() {
      if (labels.containsKey("slo")) {
        return labels.get("severity") + " " + labels.get("slo") + "/" + labels.get("sink") + " " + labels.get("long") + "/" + labels.get("short");
      }
      return labels.getOrDefault("alertname", "?") + " " + labels;
    }
  }

  /** Every firing span seen so far, in the order they fired. */
  public synchronized List<Span> spans() {
    Map<String, Instant> open = new LinkedHashMap<>();
    Map<String, Map<String, String>> labels = new LinkedHashMap<>();
    List<Span> done = new ArrayList<>();
    List<String> order = new ArrayList<>();
    for (Event e : events) {
      String key = new TreeMap<>(e.labels()).toString();
      labels.put(key, e.labels());
      if (e.state().equals("firing") && !open.containsKey(key)) {
        open.put(key, e.at());
        order.add(key);
      } else if (e.state().equals("resolved") && open.containsKey(key)) {
        done.add(new Span(e.labels(), open.remove(key), e.at()));
      }
    }
    open.forEach((key, at) -> done.add(new Span(labels.get(key), at, null)));
    done.sort(java.util.Comparator.comparing(Span::fired));
    return done;
  }

  /**
   * A line for a chaos table: each alert that fired, seconds after the fault began, and when it resolved, seconds
   * after the fault ended (recovery); {@code lastPoll} bounds "still firing". Real burn-rate windows often fire
   * nothing for a short fault: that is said as such.
   */
  public static String summary(List<Span> spans, Instant faultStart, Instant faultEnd, Instant lastPoll) {
    if (spans.isEmpty()) {
      return "none fired";
    }
    List<String> parts = new ArrayList<>();
    for (Span s : spans) {
      String fired = s.fired().isBefore(faultStart) ? "fired " + secs(faultStart, s.fired()) + " before the fault"
          : "fired +" + secs(s.fired(), faultStart);
      String resolved = s.resolved() == null
          ? "still firing at the end, " + secs(lastPoll, faultEnd) + " after recovery"
          : s.resolved().isBefore(faultEnd) ? "resolved before recovery" : "resolved +" + secs(s.resolved(), faultEnd) + " after recovery";
      parts.add(s.name() + ": " + fired + ", " + resolved);
    }
    return String.join("; ", parts);
  }

  private static String secs(Instant a, Instant b) {
    return String.format(java.util.Locale.ROOT, "%.0f s", java.time.Duration.between(b, a).toMillis() / 1000.0);
  }

  /** Whether an alert matching all of {@code labels} reached {@code state} at some poll. */
  public synchronized boolean reached(Map<String, String> labels, String state) {
    return events.stream().anyMatch(e -> e.state().equals(state) && e.labels().entrySet().containsAll(labels.entrySet()));
  }
}
