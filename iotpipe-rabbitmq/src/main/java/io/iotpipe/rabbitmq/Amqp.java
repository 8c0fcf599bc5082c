package io.iotpipe.rabbitmq;

import com.rabbitmq.client.Address;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.iotpipe.core.config.BrokerConfig;
import java.io.IOException;
import java.net.URI;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import io.iotpipe.core.tls.PemTls;

/** Opens AMQP connections to a configured broker, trying each of its nodes. */
public final class Amqp {

  private Amqp() {}

  /**
   * A connection factory for {@code broker}. The client's automatic recovery is switched off on purpose: our
   * consumers supervise their own connection (reconnect to any node, re-subscribe, drop stale deliveries), which
   * also covers the cases where the client's recovery gives up, e.g. a queue that is briefly unavailable during a
   * failover. A silent stall after failover is the complaint we refuse to inherit.
   */
  public static ConnectionFactory factory(BrokerConfig broker) {
    ConnectionFactory f = new ConnectionFactory();
    f.setAutomaticRecoveryEnabled(false);
    f.setTopologyRecoveryEnabled(false);
    f.setUsername(broker.username());
    f.setPassword(broker.password().reveal());
    f.setVirtualHost(broker.vhost());
    f.setRequestedHeartbeat(10);
    f.setConnectionTimeout(5_000);
    f.setShutdownTimeout(5_000);
    // A reply that never comes must fail the caller within a minute, not after the client's default of ten: a
    // consumer's supervisor waiting on one cannot reconnect meanwhile.
    f.setChannelRpcTimeout(60_000);
    if (!broker.uris().isEmpty() && "amqps".equals(broker.uris().getFirst().getScheme())) {
      // Peer verification always: the CA (and client certificate) from the URI's cacertfile/certfile/keyfile, the
      // shovel's own syntax, or else the JVM's default trust store; and the host name must match the certificate.
      try {
        SSLContext ctx = PemTls.contextFromUri(broker.uris().getFirst());
        f.useSslProtocol(ctx != null ? ctx : SSLContext.getDefault());
        f.enableHostnameVerification();
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("TLS unavailable: " + e.getMessage(), e);
      }
    }
    return f;
  }

  /** Node addresses in random order, so that many clients spread over a cluster instead of all hitting node 1. */
  public static List<Address> addresses(BrokerConfig broker, boolean shuffle) {
    List<Address> out = new ArrayList<>();
    for (URI u : broker.uris()) {
      int port = u.getPort() > 0 ? u.getPort() : ("amqps".equals(u.getScheme()) ? 5671 : 5672);
      out.add(new Address(u.getHost(), port));
    }
    if (shuffle) {
      Collections.shuffle(out);
    }
    return out;
  }

  /** Connects to any node of {@code broker}; failure becomes one message naming the nodes tried and the fix. */
  public static Connection connect(BrokerConfig broker, String clientName) {
    try {
      return factory(broker).newConnection(addresses(broker, true), clientName);
    } catch (IOException | TimeoutException e) {
      throw new BrokerUnavailableException(describe(broker, e), e);
    }
  }

  public static String describe(BrokerConfig broker, Exception e) {
    String cause = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    if (e.getCause() != null && e.getCause().getMessage() != null) {
      cause = e.getCause().getMessage();
    }
    return "cannot connect to broker \"" + broker.name() + "\" at " + broker.uris() + " (" + cause
        + "): is it running and reachable? Check brokers." + broker.name() + ".uris and the credentials in your config"
        + " (for local nodes: ./iotpipe broker start).";
  }
}
