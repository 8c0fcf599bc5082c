package io.iotpipe.topology;

import io.iotpipe.core.config.Names;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The accounts iotpipe's own processes use, each with the narrowest RabbitMQ permissions that still work, and the
 * permission template of every device. The regexes follow {@link Names}: a change of naming there changes the grants
 * here. {@link TopologyCompiler} declares them (with {@code security:} in the config); enrollment uses the template.
 *
 * <ul>
 *   <li>{@code <prefix>-shovel}: the edge-to-cloud (and transfer) shovels' destination user on the cloud; writes the
 *       cloud ingress and partition exchanges only. Its source side is the local node ({@code amqp://}, no user).</li>
 *   <li>{@code <prefix>-<sink>} per sink (e.g. {@code -elk} for the indexer, {@code -storage} for the storage
 *       writer): reads only its own partition queues, writes only the dead-letter exchange, configures nothing (the
 *       consumers declare passively).</li>
 *   <li>{@code <prefix>-forward} ({@code topology.wan.mode: batch} only): the edge forwarder; reads the edge buffer,
 *       writes the cloud's batch exchange only.</li>
 *   <li>{@code <prefix>-admin}: declares the topology, imports definitions, runs the DLQ and audit tools;
 *       {@code administrator} tag. Replaces {@code guest}.</li>
 * </ul>
 */
public final class ServiceAccounts {

  /** One account: name, permission regexes on the vhost, management tags (comma-separated, may be empty). */
  public record Account(String user, String configure, String write, String read, String tags) {}

  /** The tag every enrolled device user carries, so a plan can find the devices among the broker's users. */
  public static final String DEVICE_TAG = "iotpipe-device";

  /**
   * A device's routing-key rule, per exchange it may write to. Topic permissions are stored per user (there is no
   * wildcard user in RabbitMQ 3.10), so each device needs its own entries; {@code {username}} makes them identical.
   */
  public static final String DEVICE_TOPIC_WRITE = "^telemetry\\.{username}$";

  private ServiceAccounts() {}

  public static String shovel(Names n) {
    return n.prefix() + "-shovel";
  }

  public static String sink(Names n, String sink) {
    return n.prefix() + "-" + sink;
  }

  public static String admin(Names n) {
    return n.prefix() + "-admin";
  }

  /** The edge forwarder's account ({@code topology.wan.mode: batch}). */
  public static String forwarder(Names n) {
    return n.forwarderAccount();
  }

  public static List<Account> forTopology(Names n, List<String> sinks) {
    return forTopology(n, sinks, false);
  }

  /**
   * @param batches {@code topology.wan.mode: batch}: also the forwarder, which reads the edge buffer and writes only
   *                the cloud's batch exchange (the sinks trust a batch only from this user: it is the one account that
   *                may write there, and the broker checks the batch's {@code user_id} against it)
   */
  public static List<Account> forTopology(Names n, List<String> sinks, boolean batches) {
    return forTopology(n, sinks, batches, false);
  }

  /**
   * @param streams {@code topology.layout: streams}: each sink account also reads the partition streams (over the stream
   *                protocol: subscribing, and storing and querying its group's position, are reads of the stream)
   */
  public static List<Account> forTopology(Names n, List<String> sinks, boolean batches, boolean streams) {
    String p = escape(n.prefix());
    List<Account> out = new ArrayList<>();
    out.add(new Account(admin(n), ".*", ".*", ".*", "administrator"));
    out.add(new Account(shovel(n), "^$", "^" + p + "\\.(ingress|p\\d+)$", "^$", ""));
    if (batches) {
      out.add(new Account(forwarder(n), "^$", "^" + escape(n.batchExchange()) + "$", "^" + escape(n.edgeOutbound()) + "$", ""));
    }
    for (String s : sinks) {
      out.add(new Account(sink(n, s), "^$", "^" + escape(n.deadLetterExchange()) + "$",
          streams ? "^" + p + "\\.(" + escape(s) + "\\.p\\d+|p\\d+\\.stream)$" : "^" + p + "\\." + escape(s) + "\\.p\\d+$", ""));
    }
    return out;
  }

  /**
   * A device's vhost permissions: configure nothing, write only the edge ingress exchange and {@code amq.topic}
   * (where the MQTT plugin publishes), read nothing.
   */
  public static Account device(Names n, String id) {
    return new Account(id, "^$", "^(" + escape(n.edgeIngress()) + "|amq\\.topic)$", "^$", DEVICE_TAG);
  }

  /** A device's topic permissions: exchange -> {write, read}. Only {@code telemetry.<its own id>}, nothing to read. */
  public static Map<String, List<String>> deviceTopics(Names n) {
    Map<String, List<String>> m = new java.util.TreeMap<>();
    m.put(n.edgeIngress(), List.of(DEVICE_TOPIC_WRITE, "^$"));
    m.put("amq.topic", List.of(DEVICE_TOPIC_WRITE, "^$"));
    return m;
  }

  /** Names are limited to [A-Za-z0-9._-] (config validation), so the dot is the only regex metacharacter to escape. */
  public static String escape(String name) {
    return name.replace(".", "\\.");
  }
}
