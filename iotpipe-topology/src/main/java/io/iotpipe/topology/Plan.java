package io.iotpipe.topology;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The changes topology apply would make, per broker, in declaration order. */
public record Plan(Map<String, List<Change>> byBroker) {

  public Plan {
    byBroker = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byBroker));
  }

  public List<Change> all() {
    return byBroker.values().stream().flatMap(List::stream).toList();
  }

  public List<Change> conflicts() {
    return all().stream().filter(c -> c.action() == Change.Action.CONFLICT).toList();
  }

  /** Changes that apply would send to a broker (creations, updates and deletions). */
  public List<Change> pending() {
    return all().stream().filter(Change::pending).toList();
  }

  public long count(Change.Action action) {
    return all().stream().filter(c -> c.action() == action).count();
  }

  /** A JSON-ready view (credentials in shovel URIs masked). */
  public Map<String, Object> toJson() {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Object> brokers = new LinkedHashMap<>();
    byBroker.forEach((b, changes) -> brokers.put(b, changes.stream().map(c -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("action", c.action().name().toLowerCase());
      m.put("object", c.declaration().key());
      m.put("definition", c.declaration().describe());
      if (c.detail() != null) {
        m.put("detail", c.detail());
      }
      return m;
    }).toList()));
    out.put("brokers", brokers);
    Map<String, Object> summary = new LinkedHashMap<>();
    for (Change.Action a : Change.Action.values()) {
      summary.put(a.name().toLowerCase(), count(a));
    }
    out.put("summary", summary);
    return out;
  }

  public String render() {
    StringBuilder sb = new StringBuilder();
    byBroker.forEach((b, changes) -> {
      sb.append("broker ").append(b).append(":\n");
      for (Change c : changes) {
        String mark = switch (c.action()) {
          case CREATE -> "  + ";
          case UPDATE -> "  ~ ";
          case DELETE -> "  - ";
          case UNCHANGED -> "  = ";
          case CONFLICT -> "  ! ";
        };
        sb.append(mark).append(c.declaration().describe());
        if (c.detail() != null) {
          sb.append("\n      ").append(c.detail());
        }
        sb.append('\n');
      }
    });
    sb.append(String.format("%d to create, %d to update, %s%d unchanged, %d conflicts%n", count(Change.Action.CREATE),
        count(Change.Action.UPDATE), count(Change.Action.DELETE) == 0 ? "" : count(Change.Action.DELETE) + " to delete, ",
        count(Change.Action.UNCHANGED), count(Change.Action.CONFLICT)));
    return sb.toString();
  }
}
