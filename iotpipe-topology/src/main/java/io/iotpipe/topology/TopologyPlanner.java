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
public final class TopologyPlanner {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Function<BrokerTopology, ManagementClient> clients;

  public TopologyPlanner() {
    this(t -> new ManagementClient(t.broker()));
  }

  TopologyPlanner(Function<BrokerTopology, ManagementClient> clients) {
    this.clients = clients;
  }

  public Plan plan(IotpipeConfig cfg) {
    return plan(cfg, TopologyCompiler.compile(cfg));
  }

  /**
   * Only the users and permissions of {@code security:} (e.g. to create the service accounts of freshly started nodes
   * before anything else): the same declarations and diff as {@link #plan}, which later finds them unchanged.
   */
  public Plan planAccounts(IotpipeConfig cfg) {
    return plan(cfg, TopologyCompiler.compile(cfg).stream().map(BrokerTopology::accountsOnly).toList());
  }

  private Plan plan(IotpipeConfig cfg, List<BrokerTopology> topologies) {
    Map<String, List<Change>> out = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    for (BrokerTopology t : topologies) {
      ManagementClient mc = clients.apply(t);
      try {
        preflight(t, mc);
        out.put(t.broker().name(), diff(t, BrokerState.read(mc, t.declaresUsers()), cfg.security().existingUsers()));
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
      java.util.function.Predicate<Change> object = c -> c.declaration() instanceof Declaration.Exchange
          || c.declaration() instanceof Declaration.Queue;
      if (plan.conflicts().stream().anyMatch(object)) {
        sb.append("RabbitMQ cannot change queue or exchange arguments in place: delete the object (after draining it) "
            + "or change topology.prefix to build a new topology next to the old one\n");
      }
      if (plan.conflicts().stream().anyMatch(c -> c.declaration() instanceof Declaration.User
          || c.declaration() instanceof Declaration.Permission || c.declaration() instanceof Declaration.DevicePermissions)) {
        sb.append("security.existingUsers is refuse: change those users by hand, or set it to update so that apply "
            + "brings them to the declaration\n");
      }
      sb.setLength(sb.length() - 1);
      throw new TopologyException(sb.toString());
    }
    Map<String, BrokerTopology> byName = new HashMap<>();
    TopologyCompiler.compile(cfg).forEach(t -> byName.put(t.broker().name(), t));
    int sent = 0;
    List<String> done = new ArrayList<>();
    for (var e : plan.byBroker().entrySet()) {
      ManagementClient mc = clients.apply(byName.get(e.getKey()));
      for (Change c : e.getValue()) {
        if (!c.pending()) {
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
    if (t.declarations().stream().anyMatch(d -> d instanceof Declaration.Queue q && "stream".equals(q.arguments().get("x-queue-type")))) {
      streamsPreflight(name, overview);
    }
    if (t.needsShovelPlugin() && mc.get("shovels/" + mc.vhost()) == null) {
      // /api/shovels exists only with rabbitmq_shovel_management (which brings rabbitmq_shovel).
      throw new TopologyException("broker \"" + name + "\" lacks the shovel plugin that moves telemetry on: "
          + "run `rabbitmq-plugins enable rabbitmq_shovel rabbitmq_shovel_management` on its nodes");
    }
  }

  /**
   * {@code topology.layout: streams} needs single active consumer on streams (RabbitMQ 3.11 and later) and the stream
   * protocol the sink groups read with: refused here rather than by consumers that never start.
   */
  static void streamsPreflight(String name, JsonNode overview) {
    String version = overview.path("rabbitmq_version").asText("");
    String[] v = version.split("\\.");
    boolean old = v.length >= 2 && v[0].matches("\\d+") && v[1].matches("\\d+")
        && (Integer.parseInt(v[0]) < 3 || (Integer.parseInt(v[0]) == 3 && Integer.parseInt(v[1]) < 11));
    if (old) {
      throw new TopologyException("broker \"" + name + "\" runs RabbitMQ " + version + ", and topology.layout: streams needs "
          + "3.11 or later (single active consumer on streams): upgrade it, or keep topology.layout: queues");
    }
    boolean listener = false;
    for (JsonNode l : overview.path("listeners")) {
      listener |= l.path("protocol").asText("").startsWith("stream");
    }
    if (!listener) {
      throw new TopologyException("broker \"" + name + "\" has no stream protocol listener, which topology.layout: streams "
          + "reads partitions with: run `rabbitmq-plugins enable rabbitmq_stream` on its nodes");
    }
  }

  /** What a broker holds, from the management API's list endpoints. */
  record BrokerState(Map<String, JsonNode> exchanges, Map<String, JsonNode> queues, java.util.Set<String> bindings,
                     Map<String, JsonNode> shovels, Accounts accounts) {

    BrokerState(Map<String, JsonNode> exchanges, Map<String, JsonNode> queues, java.util.Set<String> bindings,
                Map<String, JsonNode> shovels) {
      this(exchanges, queues, bindings, shovels, Accounts.EMPTY);
    }

    static BrokerState read(ManagementClient mc) {
      return read(mc, false);
    }

    /** {@code users}: also read users and permissions (three more requests; needs an administrator). */
    static BrokerState read(ManagementClient mc, boolean users) {
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
      return new BrokerState(ex, qs, bs, sh, users ? Accounts.read(mc) : Accounts.EMPTY);
    }

    private static Map<String, JsonNode> byName(JsonNode list, String field) {
      Map<String, JsonNode> m = new HashMap<>();
      if (list != null) {
        list.forEach(n -> m.put(n.path(field).asText(), n));
      }
      return m;
    }
  }

  /**
   * The broker's users (by name, as {@code GET /api/users} lists them: tags, password hash), their permissions on the
   * broker's vhost (by user) and their topic permissions there (by user, then exchange).
   */
  record Accounts(Map<String, JsonNode> users, Map<String, JsonNode> permissions,
                  Map<String, Map<String, JsonNode>> topics) {
    static final Accounts EMPTY = new Accounts(Map.of(), Map.of(), Map.of());

    static Accounts read(ManagementClient mc) {
      String vhost = mc.broker().vhost();
      Map<String, JsonNode> users = new HashMap<>();
      JsonNode ul = mc.get("users");
      for (JsonNode u : ul == null ? JSON.createArrayNode() : ul) {
        users.put(u.path("name").asText(), u);
      }
      Map<String, JsonNode> perms = new HashMap<>();
      JsonNode pl = mc.get("permissions");
      for (JsonNode p : pl == null ? JSON.createArrayNode() : pl) {
        if (vhost.equals(p.path("vhost").asText())) {
          perms.put(p.path("user").asText(), p);
        }
      }
      Map<String, Map<String, JsonNode>> topics = new HashMap<>();
      JsonNode tl = mc.get("topic-permissions");
      for (JsonNode p : tl == null ? JSON.createArrayNode() : tl) {
        if (vhost.equals(p.path("vhost").asText())) {
          topics.computeIfAbsent(p.path("user").asText(), k -> new HashMap<>()).put(p.path("exchange").asText(), p);
        }
      }
      return new Accounts(users, perms, topics);
    }

    static java.util.Set<String> tags(JsonNode user) {
      java.util.Set<String> out = new TreeSet<>();
      JsonNode t = user.path("tags");
      if (t.isArray()) {
        t.forEach(x -> out.add(x.asText()));
      } else {
        for (String x : t.asText("").split(",")) {
          if (!x.isBlank()) {
            out.add(x.strip());
          }
        }
      }
      return out;
    }
  }

  static List<Change> diff(BrokerTopology t, BrokerState s) {
    return diff(t, s, io.iotpipe.core.config.SecurityConfig.ExistingUsers.UPDATE);
  }

  static List<Change> diff(BrokerTopology t, BrokerState s, io.iotpipe.core.config.SecurityConfig.ExistingUsers existing) {
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
          if (!diffs.isEmpty() && argumentDiffs(DefinitionsExport.withoutPasswords(sh.value()), found.path("value"), null).isEmpty()) {
            // Said plainly rather than as two masked URIs that look alike.
            yield new Change(Change.Action.UPDATE, d, "its destination URIs carry no password (definitions exports hold "
                + "no secrets): apply stores them with the password");
          }
          // A shovel is a runtime parameter: replacing it restarts the shovel, which is safe with on-confirm acks.
          yield diffs.isEmpty() ? new Change(Change.Action.UNCHANGED, d, null)
              : new Change(Change.Action.UPDATE, d, Declaration.Shovel.masked(String.join("; ", diffs)));
        }
        case Declaration.User u -> UserDiffs.user(t, s.accounts(), u, existing);
        case Declaration.Permission p -> UserDiffs.permission(s.accounts(), p, existing);
        case Declaration.DevicePermissions dp -> UserDiffs.devices(s.accounts(), dp, existing);
        case Declaration.UserAbsent a -> UserDiffs.absent(t, s.accounts(), a);
        case Declaration.ShovelAbsent a -> s.shovels().containsKey(a.name())
            ? new Change(Change.Action.DELETE, d, "topology.wan.mode is batch: `iotpipe forward` drains the edge buffer instead")
            : new Change(Change.Action.UNCHANGED, d, null);
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
      case Declaration.User u -> UserDiffs.declareUser(mc, u);
      case Declaration.Permission p -> mc.put("permissions/" + ManagementClient.enc(p.vhost()) + "/" + ManagementClient.enc(p.user()),
          Map.of("configure", p.configure(), "write", p.write(), "read", p.read()));
      case Declaration.DevicePermissions dp -> UserDiffs.repairDevices(mc, dp);
      case Declaration.UserAbsent a -> UserDiffs.deleteUser(mc, a.name());
      case Declaration.ShovelAbsent a -> mc.delete("parameters/shovel/" + v + "/" + ManagementClient.enc(a.name()));
    }
  }
}
