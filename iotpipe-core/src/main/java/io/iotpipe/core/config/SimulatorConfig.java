package io.iotpipe.core.config;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Defaults for the device fleet simulator ({@code iotpipe simulate}); command-line options override them.
 *
 * @param edge        the edge broker (name under {@code brokers:}) devices publish to
 * @param mqtt        the edge's MQTT listener, used with {@code protocol: mqtt}
 * @param devices     fleet size
 * @param rate        messages per second for the whole fleet at the profile's peak
 * @param duration    how long to publish
 * @param profile     load shape over the day
 * @param protocol    what the devices speak
 * @param maxInFlight unconfirmed publishes allowed at once (back-pressure beyond)
 * @param regions     regions the fleet is spread over, with their UTC offset (so rush hours differ)
 */
public record SimulatorConfig(String edge, URI mqtt, int devices, double rate, Duration duration, LoadShape profile,
                              Protocol protocol, int maxInFlight, List<Region> regions) {

  public enum LoadShape { FLAT, DIURNAL, BURST }

  public enum Protocol { AMQP, MQTT }

  public record Region(String name, int utcOffsetHours) {}

  static SimulatorConfig read(ConfigNode c, String defaultEdge) {
    String edge = c.string("edge", defaultEdge);
    URI mqtt = c.uri("mqtt", URI.create("tcp://127.0.0.1:1883"), Set.of("tcp", "ssl"));
    int devices = c.integer("devices", 300, 1, 10_000_000);
    double rate = c.decimal("rate", 500, 0.001, 10_000_000);
    Duration duration = c.duration("duration", Duration.ofSeconds(60));
    LoadShape profile = c.enumValue("profile", LoadShape.class, LoadShape.DIURNAL);
    Protocol protocol = c.enumValue("protocol", Protocol.class, Protocol.AMQP);
    int inFlight = c.integer("maxInFlight", 2000, 1, 1_000_000);
    List<Region> regions = List.of(new Region("eu-west", 1), new Region("us-east", -5), new Region("ap-southeast", 8));
    var r = c.entries("regions");
    if (!r.isEmpty()) {
      regions = r.entrySet().stream().map(e -> {
        int off = e.getValue().integer("utcOffsetHours", 0, -12, 14);
        e.getValue().finish();
        return new Region(e.getKey(), off);
      }).toList();
    }
    c.finish();
    return new SimulatorConfig(edge, mqtt, devices, rate, duration, profile, protocol, inFlight, regions);
  }
}
