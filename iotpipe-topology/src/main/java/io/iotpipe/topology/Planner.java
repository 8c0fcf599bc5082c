package io.iotpipe.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Compares what the configuration needs with what each broker holds, and applies the difference.
 *
 * <p>All brokers are read and checked (reachable, credentials, plugins, conflicts) before anything is declared on
 * any of them, so a bad plan leaves nothing half-declared. Reading uses the management API's list endpoints (four
 * requests per broker, whatever the number of partitions).
 */
public final class Planner {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Function<BrokerTopology, ManagementClient> clients;

  public Planner() {
    this(t -> new ManagementClient(t.broker()));
  }

  Planner(Function<BrokerTopology, ManagementClient> clients) {
    this.clients = clients;
  }

  public Plan plan(IotpipeConfig cfg) {
    Map<String, List<Change>> out = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    for (BrokerTopology t : TopologyCompiler.compile(cfg)) {
      ManagementClient mc = clients.apply(t);
      try {
        preflight(t, mc);
        out.put(t.broker().name(), diff(t, BrokerState.read(mc)));
      } catch (TopologyException e) {
        problems.add(e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new TopologyException(String.join("\n", problems) + "\nnothing was declared");
    }
    return new Plan(out);
  }

  /** Applies a plan made by {@link #plan}; refuses plans with conflicts. Returns the number of changes sent. */
  public int apply(IotpipeConfig cfg, Plan plan) {
    if (!plan.conflicts().isEmpty()) {
      StringBuilder sb = new StringBuilder("existing declarations conflict with the configuration; nothing was declared:\n");
      plan.byBroker().forEach((b, changes) -> changes.stream().filter(c -> c.action() == Change.Action.CONFLICT)
          .forEach(c -> sb.append("  broker ").append(b).append(": ").append(c.declaration().key()).append(": ")
              .append(c.detail()).append('\n')));
      sb.append("RabbitMQ cannot change queue or exchange arguments in place: delete the object (after draining it) "
          + "or change topology.prefix to build a new topology next to the old one");
      throw new TopologyException(sb.toString());
    }
    Map<String, BrokerTopology> byName = new HashMap<>();
    TopologyCompiler.compile(cfg).forEach(t -> byName.put(t.broker().name(), t));
    int sent = 0;
    List<String> done = new ArrayList<>();
    for (var e : plan.byBroker().entrySet()) {
      ManagementClient mc = clients.apply(byName.get(e.getKey()));
      for (Change c : e.getValue()) {
        if (c.action() != Change.Action.CREATE && c.action() != Change.Action.UPDATE) {
          continue;
        }
        try {
          declare(mc, c.declaration());
        } catch (TopologyException ex) {
          throw new TopologyException(ex.getMessage() + "\n" + sent + " of " + plan.pending().size()
              + " changes were applied before this failure (declarations are idempotent: fix the cause and run apply again)"
              + (done.isEmpty() ? "" : "; last applied: " + done.get(done.size() - 1)));
        }
        done.add(e.getKey() + ": " + c.declaration().key());
        sent++;
      }
    }
    return sent;
  }

  private static void preflight(BrokerTopology t, ManagementClient mc) {
    JsonNode overview = mc.get("overview");
    String name = t.broker().name();
    if (overview == null) {
      throw new TopologyException("broker \"" + name + "\": the management API answered 404 for /api/overview: "
          + "is brokers." + name + ".management the management URL (http://host:15672)?");
    }
    if (t.needsHashExchange()) {
      boolean has = false;
      for (JsonNode et : overview.path("exchange_types")) {
        has |= TopologyCompiler.HASH_EXCHANGE.equals(et.path("name").asText());
      }
      if (!has) {
        throw new TopologyException("broker \"" + name + "\" lacks the " + TopologyCompiler.HASH_EXCHANGE
            + " exchange that partitions devices: run `rabbitmq-plugins enable rabbitmq_sharding` on its nodes");
      }
    }
    if (t.needsShovelPlugin() && mc.get("shovels/" + mc.vhost()) == null) {
      // /api/shovels exists only with rabbitmq_shovel_management (which brings rabbitmq_shovel).
      throw new TopologyException("broker \"" + name + "\" lacks the shovel plugin that moves telemetry on: "
          + "run `rabbitmq-plugins enable rabbitmq_shovel rabbitmq_shovel_management` on its nodes");
    }
  }

  /** What a broker holds, from the management API's list endpoints. */
  record BrokerState(Map<String, JsonNode> exchanges, Map<String, JsonNode> queues, java.util.Set<String> bindings,
                     Map<String, JsonNode> shovels) {

    static BrokerState read(ManagementClient mc) {
      String v = mc.vhost();
      Map<String, JsonNode> ex = byName(mc.get("exchanges/" + v), "name");
      Map<String, JsonNode> qs = byName(mc.get("queues/" + v), "name");
      java.util.Set<String> bs = new java.util.HashSet<>();
      JsonNode bl = mc.get("bindings/" + v);
      for (JsonNode b : bl == null ? JSON.createArrayNode() : bl) {
        bs.add(new Declaration.Binding(b.path("source").asText(), b.path("destination").asText(),
            "exchange".equals(b.path("destination_type").asText()), b.path("routing_key").asText()).key());
      }
      Map<String, JsonNode> sh = byName(mc.get("parameters/shovel/" + v), "name");
      return new BrokerState(ex, qs, bs, sh);
    }

    private static Map<String, JsonNode> byName(JsonNode list, String field) {
      Map<String, JsonNode> m = new HashMap<>();
      if (list != null) {
        list.forEach(n -> m.put(n.path(field).asText(), n));
      }
      return m;
    }
  }

  static List<Change> diff(BrokerTopology t, BrokerState s) {
    List<Change> out = new ArrayList<>();
    for (Declaration d : t.declarations()) {
      out.add(switch (d) {
        case Declaration.Exchange e -> {
          JsonNode found = s.exchanges().get(e.name());
          if (found == null) {
            yield new Change(Change.Action.CREATE, d, null);
          }
          List<String> diffs = new ArrayList<>();
          if (!e.type().equals(found.path("type").asText())) {
            diffs.add("type: wanted " + e.type() + ", found " + found.path("type").asText());
          }
          if (!found.path("durable").asBoolean()) {
            diffs.add("durable: wanted true, found false");
          }
          diffs.addAll(argumentDiffs(e.arguments(), found.path("arguments"), null));
          yield diffs.isEmpty() ? new Change(Change.Action.UNCHANGED, d, null)
              : new Change(Change.Action.CONFLICT, d, String.join("; ", diffs));
        }
        case Declaration.Queue q -> {
          JsonNode found = s.queues().get(q.name());
          if (found == null) {
            yield new Change(Change.Action.CREATE, d, null);
          }
          List<String> diffs = new ArrayList<>();
          if (!found.path("durable").asBoolean()) {
            diffs.add("durable: wanted true, found false");
          }
          diffs.addAll(argumentDiffs(q.arguments(), found.path("arguments"), found.path("type").asText(null)));
          yield diffs.isEmpty() ? new Change(Change.Action.UNCHANGED, d, null)
              : new Change(Change.Action.CONFLICT, d, String.join("; ", diffs));
        }
        case Declaration.Binding b -> new Change(s.bindings().contains(b.key()) ? Change.Action.UNCHANGED : Change.Action.CREATE, d, null);
        case Declaration.Shovel sh -> {
          JsonNode found = s.shovels().get(sh.name());
          if (found == null) {
            yield new Change(Change.Action.CREATE, d, null);
          }
          List<String> diffs = argumentDiffs(sh.value(), found.path("value"), null);
          // A shovel is a runtime parameter: replacing it restarts the shovel, which is safe with on-confirm acks.
          yield diffs.isEmpty() ? new Change(Change.Action.UNCHANGED, d, null)
              : new Change(Change.Action.UPDATE, d, Declaration.Shovel.masked(String.join("; ", diffs)));
        }
      });
    }
    return out;
  }

  /** Field-by-field differences, numbers compared by value (the API returns 1000 for a long 1000L). */
  static List<String> argumentDiffs(Map<String, Object> wanted, JsonNode found, String foundQueueType) {
    JsonNode w = JSON.valueToTree(wanted);
    List<String> diffs = new ArrayList<>();
    TreeSet<String> keys = new TreeSet<>();
    w.fieldNames().forEachRemaining(keys::add);
    found.fieldNames().forEachRemaining(keys::add);
    for (String k : keys) {
      JsonNode a = w.get(k);
      JsonNode b = found.get(k);
      if (b == null && "x-queue-type".equals(k) && a != null && a.asText().equals(foundQueueType)) {
        continue; // declared without the argument, but of the wanted type
      }
      if (a == null && b != null && "x-queue-type".equals(k) && "classic".equals(b.asText())) {
        continue;
      }
      if (!same(a, b)) {
        diffs.add(k + ": wanted " + (a == null ? "(none)" : a) + ", found " + (b == null ? "(none)" : b));
      }
    }
    return diffs;
  }

  private static boolean same(JsonNode a, JsonNode b) {
    if (a == null || b == null) {
      return a == b;
    }
    if (a.isNumber() && b.isNumber()) {
      return a.decimalValue().compareTo(b.decimalValue()) == 0;
    }
    if (a.isArray() && b.isArray()) {
      if (a.size() != b.size()) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!same(a.get(i), b.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }

  static void declare(ManagementClient mc, Declaration d) {
    String v = mc.vhost();
    switch (d) {
      case Declaration.Exchange e -> mc.put("exchanges/" + v + "/" + ManagementClient.enc(e.name()),
          Map.of("type", e.type(), "durable", true, "auto_delete", false, "internal", false, "arguments", e.arguments()));
      case Declaration.Queue q -> mc.put("queues/" + v + "/" + ManagementClient.enc(q.name()),
          Map.of("durable", true, "auto_delete", false, "arguments", q.arguments()));
      case Declaration.Binding b -> mc.post("bindings/" + v + "/e/" + ManagementClient.enc(b.source()) + "/"
          + (b.toExchange() ? "e/" : "q/") + ManagementClient.enc(b.destination()), Map.of("routing_key", b.routingKey()));
      case Declaration.Shovel s -> mc.put("parameters/shovel/" + v + "/" + ManagementClient.enc(s.name()),
          Map.of("value", s.value()));
    }
  }
}
