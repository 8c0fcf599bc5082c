package io.iotpipe.topology;

import java.util.Map;
import java.util.TreeMap;

/** One thing the topology needs on a broker. Declarations are values: equal declarations mean "nothing to do". */
public sealed interface Declaration {

  /** Unique key within a broker, e.g. {@code queue iotpipe.elk.p0}. */
  String key();

  /** What a person reads in a plan. */
  String describe();

  record Exchange(String name, String type, Map<String, Object> arguments) implements Declaration {
    public Exchange {
      arguments = new TreeMap<>(arguments);
    }

    @Override
    public String key() {
      return "exchange " + name;
    }

    @Override
    public String describe() {
      return key() + " (" + type + (arguments.isEmpty() ? "" : ", " + arguments) + ")";
    }
  }

  record Queue(String name, Map<String, Object> arguments) implements Declaration {
    public Queue {
      arguments = new TreeMap<>(arguments);
    }

    @Override
    public String key() {
      return "queue " + name;
    }

    @Override
    public String describe() {
      return key() + " " + arguments;
    }
  }

  /** A binding from an exchange to a queue ({@code toExchange=false}) or to another exchange. */
  record Binding(String source, String destination, boolean toExchange, String routingKey) implements Declaration {
    @Override
    public String key() {
      return "binding " + source + " -> " + (toExchange ? "exchange " : "queue ") + destination + " [" + routingKey + "]";
    }

    @Override
    public String describe() {
      return key();
    }
  }

  /**
   * A dynamic shovel (a runtime parameter on the broker it runs on).
   *
   * @param value the shovel definition as the management API takes it; URIs may hold credentials, so
   *              {@link #describe()} masks them
   */
  record Shovel(String name, Map<String, Object> value) implements Declaration {
    public Shovel {
      value = new TreeMap<>(value);
    }

    @Override
    public String key() {
      return "shovel " + name;
    }

    @Override
    public String describe() {
      return key() + " " + masked(value);
    }

    static String masked(Object v) {
      return String.valueOf(v).replaceAll("(amqps?://[^:/@\\s,\\]]+):[^@\\s,\\]]+@", "$1:****@");
    }
  }

  /**
   * A broker user iotpipe declares (a service account). Its password is never part of the declaration or a plan:
   * {@code passwordFile} names where it is kept (null: the broker's own configured login password, for the account
   * iotpipe logs in as), and a plan compares the broker's stored hash with it.
   */
  record User(String name, String tags, java.nio.file.Path passwordFile) implements Declaration {
    @Override
    public String key() {
      return "user " + name;
    }

    @Override
    public String describe() {
      return key() + " (tags: " + (tags.isEmpty() ? "none" : tags) + "; password from "
          + (passwordFile == null ? "the broker's configured password" : passwordFile.toString()) + ")";
    }
  }

  /** A user's configure/write/read permission regexes on a vhost. */
  record Permission(String user, String vhost, String configure, String write, String read) implements Declaration {
    @Override
    public String key() {
      return "permissions " + user + " on vhost " + vhost;
    }

    @Override
    public String describe() {
      return key() + ": configure " + configure + " write " + write + " read " + read;
    }
  }

  /**
   * The permission template every enrolled device (user tagged {@link ServiceAccounts#DEVICE_TAG}) must hold on an
   * edge: vhost permissions and, per exchange, topic permissions ({@code exchange -> [write, read]}). Devices are
   * enrolled by {@code iotpipe device enroll}, not listed in the config: the plan finds them by their tag.
   */
  record DevicePermissions(String vhost, String configure, String write, String read,
                           Map<String, java.util.List<String>> topics) implements Declaration {
    public DevicePermissions {
      topics = new TreeMap<>(topics);
    }

    @Override
    public String key() {
      return "device permissions on vhost " + vhost;
    }

    @Override
    public String describe() {
      StringBuilder sb = new StringBuilder(key()).append(" (every user tagged ").append(ServiceAccounts.DEVICE_TAG)
          .append("): configure ").append(configure).append(" write ").append(write).append(" read ").append(read);
      topics.forEach((x, wr) -> sb.append("; topic ").append(x).append(" write ").append(wr.get(0)).append(" read ").append(wr.get(1)));
      return sb.toString();
    }
  }

  /** A user that must not exist (guest). */
  record UserAbsent(String name) implements Declaration {
    @Override
    public String key() {
      return "absent user " + name;
    }

    @Override
    public String describe() {
      return "user " + name + " (must not exist)";
    }
  }

  /**
   * A shovel that must not exist: the edge-to-cloud shovel once {@code topology.wan.mode: batch} has the forwarder
   * drain the edge buffer instead (two consumers of one buffer would split a device's readings over two paths).
   */
  record ShovelAbsent(String name) implements Declaration {
    @Override
    public String key() {
      return "absent shovel " + name;
    }

    @Override
    public String describe() {
      return "shovel " + name + " (must not exist: the forwarder drains the edge buffer)";
    }
  }
}
