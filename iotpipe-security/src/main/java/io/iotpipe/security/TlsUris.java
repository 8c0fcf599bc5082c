package io.iotpipe.security;

import io.iotpipe.core.config.Secret;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * URIs that carry their TLS settings in the query, in the syntax RabbitMQ's shovel reads ({@code cacertfile},
 * {@code certfile}, {@code keyfile}, {@code verify=verify_peer}, {@code server_name_indication}); iotpipe's AMQP
 * and management clients read the same parameters, so a config's broker URIs serve both.
 */
public final class TlsUris {

  /** The name in the local nodes' server certificate that the shovel checks the peer against. */
  public static final String SERVER_NAME = "localhost";

  private TlsUris() {}

  /** {@code amqps://host:port/vhost?...} trusting the fleet CA and presenting client {@code client}'s certificate (null: none). */
  public static URI amqps(URI node, String vhost, Pki pki, String client) {
    int port = node.getPort() > 0 ? node.getPort() : 5671;
    StringBuilder q = new StringBuilder("cacertfile=").append(enc(pki.caCert().toAbsolutePath().toString()));
    if (client != null) {
      q.append("&certfile=").append(enc(pki.clientCert(client).toAbsolutePath().toString()))
          .append("&keyfile=").append(enc(pki.clientKey(client).toAbsolutePath().toString()));
    }
    q.append("&verify=verify_peer&server_name_indication=").append(SERVER_NAME);
    return URI.create("amqps://" + node.getHost() + ":" + port + "/" + enc(vhost) + "?" + q);
  }

  /** {@code https://host:port?cacertfile=...}: the management API, trusting only the fleet CA. */
  public static URI management(URI https, Pki pki) {
    return URI.create("https://" + https.getHost() + ":" + https.getPort() + "?cacertfile=" + enc(pki.caCert().toAbsolutePath().toString()));
  }

  /**
   * A shovel destination URI with credentials (it is stored on the broker as a parameter; never print it):
   * {@code amqps://user:password@host:port/vhost?cacertfile=...&certfile=...&keyfile=...&verify=verify_peer&server_name_indication=localhost}.
   */
  public static String shovelDestination(URI node, String vhost, String user, Secret password, Pki pki, String client) {
    URI u = amqps(node, vhost, pki, client);
    return "amqps://" + enc(user) + ":" + enc(password.reveal()) + "@" + u.getRawAuthority() + u.getRawPath() + "?" + u.getRawQuery();
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
