package io.iotpipe.topology;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The compiled topology ({@link TopologyCompiler}, the same declarations {@code topology plan|apply} use) as RabbitMQ
 * definitions JSON, for tooling that manages brokers with definitions files ({@code rabbitmqctl import_definitions},
 * {@code POST /api/definitions}, the cluster operator, Terraform).
 *
 * <p>No secrets: users carry no {@code password_hash} and shovel URIs no password. RabbitMQ 3.10 gives a user imported
 * without a hash a password nobody knows, and <em>replaces</em> the password of a user that already exists (measured
 * on 3.10.8) — so the account iotpipe logs in to a broker with (its {@code brokers.<name>.username}, the operator's
 * bootstrap administrator) is left out with its permissions, and {@code topology apply} sets the other accounts'
 * passwords from their 0600 files afterwards (the plan lists exactly those). What definitions cannot express is
 * left out and named in {@link Export#notExported()}: deleting {@code guest}, and the device permission template
 * (devices get their users, permissions and topic permissions from {@code iotpipe device enroll}).
 */
public final class DefinitionsExport {

  /** Which brokers to export: devices' edges, or the rest (balancer, fanout, failover regions). */
  public enum Tier { EDGE, CLOUD }

  /**
   * One definitions document.
   *
   * @param brokers     the brokers it is for (several when they need identical definitions, e.g. like edges)
   * @param definitions the document to import
   * @param secrets     what the import leaves without a secret, and where {@code topology apply} takes it from
   * @param notExported declarations definitions cannot express, and how they are made true instead
   */
  public record Export(List<String> brokers, ObjectNode definitions, List<String> secrets, List<String> notExported) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  /** The password part of a URI's user info ({@code amqp://user:password@host}). */
  private static final Pattern URI_PASSWORD = Pattern.compile("^(amqps?://[^:/@?#]*):[^@/?#]*@");

  private DefinitionsExport() {}

  /**
   * The definitions for the selected brokers: every broker of the config ({@code tier} and {@code broker} null), one
   * tier, or one broker. Brokers needing the same definitions share one document; a selection needing different
   * ones is an error naming how to choose.
   */
  public static Export export(IotpipeConfig cfg, Tier tier, String broker) {
    List<BrokerTopology> all = TopologyCompiler.compile(cfg);
    List<String> edges = cfg.topology().edges();
    List<BrokerTopology> chosen = all.stream().filter(t -> broker != null ? t.broker().name().equals(broker)
        : tier == null || (tier == Tier.EDGE) == edges.contains(t.broker().name())).toList();
    if (chosen.isEmpty()) {
      List<String> names = all.stream().map(t -> t.broker().name()).toList();
      throw new TopologyException(broker != null
          ? "--broker " + broker + ": no topology is declared on a broker of that name; choose one of " + names
          : "--tier " + tier.name().toLowerCase() + ": the config declares no " + tier.name().toLowerCase()
              + " broker (topology.edges lists the edges; every other broker of the topology is cloud)");
    }
    Map<String, List<String>> byDocument = new LinkedHashMap<>();
    Map<String, BrokerTopology> first = new LinkedHashMap<>();
    for (BrokerTopology t : chosen) {
      String doc = definitions(t).toString();
      byDocument.computeIfAbsent(doc, k -> new ArrayList<>()).add(t.broker().name());
      first.putIfAbsent(doc, t);
    }
    if (byDocument.size() > 1) {
      List<String> groups = byDocument.values().stream().map(b -> String.join(", ", b) + " (" + tierOf(edges, b.get(0)) + ")").toList();
      throw new TopologyException("these brokers need different definitions: " + String.join("; ", groups)
          + ": export one at a time with " + (tier == null && broker == null ? "--tier edge|cloud or " : "") + "--broker NAME");
    }
    BrokerTopology t = first.values().iterator().next();
    List<String> names = byDocument.values().iterator().next();
    ObjectNode doc = definitions(t);
    List<String> secrets = secrets(t);
    List<String> notExported = notExported(t);
    ObjectNode about = JSON.createObjectNode();
    about.put("generatedBy", "iotpipe topology export --format definitions");
    about.set("brokers", JSON.valueToTree(names));
    about.put("prefix", cfg.topology().prefix());
    about.set("secretsNotIncluded", JSON.valueToTree(secrets));
    about.set("notExpressibleInDefinitions", JSON.valueToTree(notExported));
    // RabbitMQ ignores top-level keys it does not know (checked with rabbitmqctl import_definitions on 3.10.8), so
    // the notes travel with the file to whoever imports it.
    ObjectNode out = JSON.createObjectNode();
    out.set("iotpipe", about);
    out.setAll(doc);
    return new Export(names, out, secrets, notExported);
  }

  private static String tierOf(List<String> edges, String broker) {
    return edges.contains(broker) ? "edge" : "cloud";
  }

  /** The definitions of one broker's declarations (no secrets; see the class comment). */
  static ObjectNode definitions(BrokerTopology t) {
    String vhost = t.broker().vhost();
    String login = t.broker().username();
    ObjectNode d = JSON.createObjectNode();
    ArrayNode users = JSON.createArrayNode();
    ArrayNode permissions = JSON.createArrayNode();
    ArrayNode exchanges = JSON.createArrayNode();
    ArrayNode queues = JSON.createArrayNode();
    ArrayNode bindings = JSON.createArrayNode();
    ArrayNode parameters = JSON.createArrayNode();
    for (Declaration decl : t.declarations()) {
      switch (decl) {
        case Declaration.User u when !u.name().equals(login) -> {
          ObjectNode o = users.addObject().put("name", u.name());
          ArrayNode tags = o.putArray("tags");
          for (String tag : u.tags().split(",")) {
            if (!tag.isBlank()) {
              tags.add(tag.strip());
            }
          }
          o.putObject("limits");
        }
        case Declaration.Permission p when !p.user().equals(login) -> permissions.addObject().put("user", p.user())
            .put("vhost", p.vhost()).put("configure", p.configure()).put("write", p.write()).put("read", p.read());
        case Declaration.Exchange e -> {
          ObjectNode o = exchanges.addObject().put("name", e.name()).put("vhost", vhost).put("type", e.type())
              .put("durable", true).put("auto_delete", false).put("internal", false);
          o.set("arguments", JSON.valueToTree(e.arguments()));
        }
        case Declaration.Queue q -> {
          ObjectNode o = queues.addObject().put("name", q.name()).put("vhost", vhost).put("durable", true)
              .put("auto_delete", false);
          o.set("arguments", JSON.valueToTree(q.arguments()));
        }
        case Declaration.Binding b -> {
          ObjectNode o = bindings.addObject().put("source", b.source()).put("vhost", vhost)
              .put("destination", b.destination()).put("destination_type", b.toExchange() ? "exchange" : "queue")
              .put("routing_key", b.routingKey());
          o.putObject("arguments");
        }
        case Declaration.Shovel s -> {
          ObjectNode o = parameters.addObject().put("vhost", vhost).put("component", "shovel").put("name", s.name());
          o.set("value", JSON.valueToTree(withoutPasswords(s.value())));
        }
        // The login account (see the class comment), guest's removal and the device template: not definitions.
        default -> { }
      }
    }
    d.putArray("vhosts").addObject().put("name", vhost);
    d.set("users", users);
    d.set("permissions", permissions);
    // Topic permissions exist only per device user; enrollment creates them with each device.
    d.putArray("topic_permissions");
    d.set("parameters", parameters);
    d.putArray("global_parameters");
    // iotpipe sets everything through queue arguments (fixed at declaration, visible to plan), so no policies.
    d.putArray("policies");
    d.set("queues", queues);
    d.set("exchanges", exchanges);
    d.set("bindings", bindings);
    return d;
  }

  /** A shovel definition with every URI's password removed (user, host, TLS settings kept). */
  static Map<String, Object> withoutPasswords(Map<String, Object> shovel) {
    Map<String, Object> out = new LinkedHashMap<>();
    shovel.forEach((k, v) -> out.put(k, switch (v) {
      case String s -> withoutPassword(s);
      case List<?> l -> l.stream().map(x -> x instanceof String s ? withoutPassword(s) : x).toList();
      default -> v;
    }));
    return out;
  }

  static String withoutPassword(String uri) {
    return URI_PASSWORD.matcher(uri).replaceFirst("$1@");
  }

  private static List<String> secrets(BrokerTopology t) {
    String login = t.broker().username();
    List<String> out = new ArrayList<>();
    for (Declaration d : t.declarations()) {
      if (d instanceof Declaration.User u && !u.name().equals(login)) {
        out.add("user " + u.name() + ": imported with a password nobody knows; `iotpipe topology apply` sets the one in "
            + u.passwordFile() + " (written there when missing)");
      } else if (d instanceof Declaration.Shovel s && !s.value().equals(withoutPasswords(s.value()))) {
        out.add("shovel " + s.name() + ": its destination URIs carry no password, so it cannot log in until "
            + "`iotpipe topology apply` stores them with the password");
      }
    }
    return out;
  }

  private static List<String> notExported(BrokerTopology t) {
    String login = t.broker().username();
    List<String> out = new ArrayList<>();
    for (Declaration d : t.declarations()) {
      switch (d) {
        case Declaration.User u when u.name().equals(login) -> out.add("user " + u.name()
            + ": the account iotpipe logs in to this broker as (brokers." + t.broker().name()
            + ".username) must exist before anything is imported; importing it would replace its password");
        case Declaration.DevicePermissions dp -> out.add("device permissions on vhost " + dp.vhost()
            + ": every device gets its user, permissions and topic permissions from `iotpipe device enroll`");
        case Declaration.UserAbsent a -> out.add("user " + a.name() + " must not exist: definitions only add; delete "
            + "it with `rabbitmqctl delete_user " + a.name() + "` or `iotpipe topology apply`");
        case Declaration.ShovelAbsent a -> out.add("shovel " + a.name() + " must not exist (topology.wan.mode: batch): "
            + "definitions only add; delete it with `rabbitmqctl clear_parameter shovel " + a.name() + "` or `iotpipe topology apply`");
        default -> { }
      }
    }
    return out;
  }
}
