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
}
