package io.iotpipe.core.config;

import java.net.URI;
import java.util.List;
import java.util.Set;

/**
 * One RabbitMQ deployment (a single edge node or a cloud cluster).
 *
 * @param name       key under {@code brokers:}
 * @param uris       AMQP URIs of all nodes ({@code amqp://host:5672/vhost} or {@code amqps://}); clients try them in
 *                   order and move on when one is down
 * @param management management API base URI of any node (for shovels and checks), may be null for consume-only use
 * @param username   user name (default {@code guest})
 * @param password   password, from the environment
 * @param region     region this broker serves (e.g. {@code eu-west}); informs failover and the report
 * @param streamUris the stream protocol endpoints of the nodes ({@code rabbitmq-stream://host:5552}, plugin
 *                   {@code rabbitmq_stream}), read by sink groups when {@code topology.layout} is {@code streams};
 *                   empty: the hosts of {@code uris} on port {@link #STREAM_PORT}. Credentials and vhost come from
 *                   this broker's other keys.
 */
public record BrokerConfig(String name, List<URI> uris, URI management, String username, Secret password,
                           String region, List<URI> streamUris) {

  /** RabbitMQ's default stream protocol port. */
  public static final int STREAM_PORT = 5552;

  public BrokerConfig(String name, List<URI> uris, URI management, String username, Secret password, String region) {
    this(name, uris, management, username, password, region, List.of());
  }

  static BrokerConfig read(String name, ConfigNode c) {
    List<URI> uris = c.uris("uris", List.of(), Set.of("amqp", "amqps"));
    c.markRequired("uris");
    if (uris.isEmpty() && !c.has("uris")) {
      c.error("uris", "required: at least one amqp:// URI");
    }
    URI management = c.uri("management", null, Set.of("http", "https"));
    String username = c.string("username", "guest");
    Secret password = c.secret("password");
    String region = c.string("region", "default");
    List<URI> streamUris = c.uris("streamUris", List.of(), Set.of("rabbitmq-stream"));
    c.check("streamUris", "no user or password in the URI (they come from username and password)",
        streamUris.stream().allMatch(u -> u.getUserInfo() == null), null);
    c.finish();
    return new BrokerConfig(name, uris, management, username, password.isSet() ? password : new Secret("default", "guest"),
        region, streamUris);
  }

  /** The vhost encoded in the first URI's path ({@code /} when absent). */
  public String vhost() {
    if (uris.isEmpty()) {
      return "/";
    }
    String p = uris.getFirst().getPath();
    return p == null || p.isEmpty() || p.equals("/") ? "/" : java.net.URLDecoder.decode(p.substring(1), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "BrokerConfig[" + name + " " + uris + " user=" + username + " password=" + password + "]";
  }
}
