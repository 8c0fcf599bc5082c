package io.iotpipe.topology;

import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.TopologyConfig;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles the configuration into what each broker must hold. The seed's stages, each done the RabbitMQ way:
 *
 * <ul>
 *   <li><b>edge</b>: a topic exchange devices publish to (MQTT lands there too, via {@code amq.topic}) and one
 *       bounded buffer queue with {@code reject-publish}: when the WAN is down for longer than the buffer holds,
 *       devices get nacks (they keep the reading and retry) instead of the broker silently dropping the oldest.
 *       It is a lazy classic queue: a single edge node gains nothing from quorum replication, and lazy mode keeps
 *       a long outage's backlog on disk instead of in memory.</li>
 *   <li><b>shovel</b> edge → cloud, declared on the edge: {@code on-confirm} (the edge forgets a message only once
 *       the cloud confirmed it), every node of the home region's cluster as destinations (it moves on when one is
 *       down). Not the failover region's nodes: the shovel picks a destination URI at random on every (re)connect
 *       (rabbit_amqp091_shovel calls rand:uniform), so listing both regions would send half the traffic abroad while
 *       home is healthy. {@link RegionFailover} re-points the shovel when the whole home region is down, and back.</li>
 *   <li><b>balancer</b>: a hash exchange on the routing key ({@code telemetry.<deviceId>}) bound to the partition
 *       exchanges — exchange-to-exchange bindings, no extra shovel hop when stages share a broker. It is the
 *       {@code x-modulus-hash} type (plugin {@code rabbitmq_sharding}), not {@code x-consistent-hash}: the latter
 *       rebuilds its ring in a different order when a node restarts (rabbitmq-server#3386; measured here: most
 *       devices moved partition after one restart), which would split a device over two partitions and break
 *       per-device order. Modulus hashing picks among the bindings sorted by name, so a device keeps its partition
 *       across restarts and on every cluster node; the price is that changing the partition count remaps most
 *       devices, which is a planned migration anyway (drain, then re-apply).</li>
 *   <li><b>fanout</b> per partition to one queue per sink (quorum: replicated, with a delivery limit against crash
 *       loops, single active consumer for per-device order) and a dead-letter exchange/queue per sink.</li>
 *   <li>With {@code topology.layout: streams} the partition exchange routes into <b>one stream per partition</b>
 *       instead: a reading is written (and replicated) once, whatever the number of sinks, and each sink group reads
 *       it at its own position, which it stores on the stream after its sink made the records durable. Plain
 *       streams bound to the partition exchanges rather than a super stream: routing stays the modulus hash that
 *       keeps a device on its partition, and single active consumer per stream (named by the sink group) gives the
 *       same one-reader-per-partition rule as the queues layout.</li>
 *   <li>With {@code topology.wan.mode: batch} the edge has no shovel: {@code iotpipe forward} drains the buffer and
 *       publishes batches of readings per partition to a direct exchange bound to the partition exchanges (the
 *       forwarder picks the partition; see {@code PartitionBatches}).</li>
 *   <li>When the fanout stage lives on another broker (the seed's "shovel to another RMQ instance"), each partition
 *       routes into a transfer queue on the balancer and a shovel moves it to the fanout broker.</li>
 * </ul>
 */
public final class TopologyCompiler {

  static final String TELEMETRY_KEY = "telemetry.#";

  /** The balancer's exchange type (see the class comment for why not x-consistent-hash). */
  public static final String HASH_EXCHANGE = "x-modulus-hash";

  private TopologyCompiler() {}

  public static List<BrokerTopology> compile(IotpipeConfig cfg) {
    TopologyConfig t = cfg.topology();
    Names n = t.names();
    Map<String, BrokerTopology.Builder> brokers = new LinkedHashMap<>();
    java.util.function.Function<String, BrokerTopology.Builder> on = name -> brokers.computeIfAbsent(name, k -> new BrokerTopology.Builder(cfg.broker(k)));

    for (String edgeName : t.edges()) {
      BrokerTopology.Builder edge = on.apply(edgeName);
      edge.add(new Declaration.Exchange(n.edgeIngress(), "topic", Map.of()));
      edge.add(new Declaration.Queue(n.edgeOutbound(), Map.of(
          "x-queue-mode", "lazy",
          "x-max-length", t.edgeMaxMessages(),
          "x-max-length-bytes", t.edgeMaxBytes(),
          "x-overflow", "reject-publish")));
      edge.add(new Declaration.Binding(n.edgeIngress(), n.edgeOutbound(), false, "#"));
      edge.add(new Declaration.Binding("amq.topic", n.edgeIngress(), true, TELEMETRY_KEY));
      if (t.wan().batches()) {
        // The forwarder (`iotpipe forward`) drains the buffer; a shovel left from shovel mode would compete with it.
        edge.add(new Declaration.ShovelAbsent(edgeShovel(cfg, t.balancer()).name()));
      } else {
        edge.add(edgeShovel(cfg, t.balancer()));
      }
    }

    cloud(cfg, t.balancer(), t.fanout(), on);
    // Every failover region holds the whole cloud topology too, on its own cluster, so that its roles can take over.
    for (String region : t.failover()) {
      cloud(cfg, region, region, on);
    }
    if (cfg.security().declared()) {
      brokers.forEach((name, b) -> accounts(cfg, cfg.broker(name), t.edges().contains(name), b));
    }
    return brokers.values().stream().map(BrokerTopology.Builder::build).toList();
  }

  /**
   * With {@code security:}: iotpipe's service accounts on every broker of the topology (each with its narrowest
   * permissions on the broker's vhost), the device permission template on edges, and no {@code guest}. Devices
   * themselves are created by enrollment (they are not in the config); the plan checks their permissions.
   */
  private static void accounts(IotpipeConfig cfg, BrokerConfig broker, boolean edge, BrokerTopology.Builder b) {
    io.iotpipe.core.config.SecurityConfig sec = cfg.security();
    Names n = cfg.topology().names();
    for (ServiceAccounts.Account a : ServiceAccounts.forTopology(n, cfg.topology().sinks(), cfg.topology().wan().batches(),
        cfg.topology().layout() == TopologyConfig.Layout.STREAMS)) {
      // The account iotpipe logs in as keeps the password the config gives it (else apply would lock itself out).
      boolean login = a.user().equals(broker.username());
      b.add(new Declaration.User(a.user(), a.tags(), login ? null : sec.passwordFile(a.user())));
      b.add(new Declaration.Permission(a.user(), broker.vhost(), a.configure(), a.write(), a.read()));
    }
    if (edge && sec.devicePermissions()) {
      ServiceAccounts.Account d = ServiceAccounts.device(n, "{device}");
      b.add(new Declaration.DevicePermissions(broker.vhost(), d.configure(), d.write(), d.read(), ServiceAccounts.deviceTopics(n)));
    }
    if (sec.removeGuest()) {
      b.add(new Declaration.UserAbsent("guest"));
    }
  }

  /** The cloud stages of one region: hash exchange on {@code balancerName}, partition fanouts and sink queues on {@code fanoutName}. */
  private static void cloud(IotpipeConfig cfg, String balancerName, String fanoutName,
                            java.util.function.Function<String, BrokerTopology.Builder> on) {
    TopologyConfig t = cfg.topology();
    Names n = t.names();
    BrokerTopology.Builder lb = on.apply(balancerName);
    lb.add(new Declaration.Exchange(n.cloudIngress(), HASH_EXCHANGE, Map.of()));
    boolean split = !fanoutName.equals(balancerName);
    BrokerConfig fanoutBroker = cfg.broker(fanoutName);
    BrokerTopology.Builder fo = on.apply(fanoutName);
    for (int p = 0; p < t.partitions(); p++) {
      if (split) {
        // Partition p leaves the balancer through a transfer queue and a shovel into the fanout broker.
        lb.add(new Declaration.Queue(n.partitionTransfer(p), queueArgs(t, Map.of())));
        lb.add(new Declaration.Binding(n.cloudIngress(), n.partitionTransfer(p), false, ""));
        lb.add(shovel(n.prefix() + ".p" + p + ".transfer", n.partitionTransfer(p), uris(cfg, fanoutBroker), n.partition(p), t));
      } else {
        lb.add(new Declaration.Binding(n.cloudIngress(), n.partition(p), true, ""));
      }
      fo.add(new Declaration.Exchange(n.partition(p), "fanout", Map.of()));
      if (t.wan().batches()) {
        fo.add(new Declaration.Binding(n.batchExchange(), n.partition(p), true, n.partitionKey(p)));
      }
    }
    if (t.wan().batches()) {
      // The forwarder has already chosen each batch's partition: a direct exchange keyed p<N>, bound to the partition
      // exchanges, so a batch is routed (and stored) once per sink queue or stream like a single reading.
      fo.add(new Declaration.Exchange(n.batchExchange(), "direct", Map.of()));
    }
    fo.add(new Declaration.Exchange(n.deadLetterExchange(), "direct", Map.of()));
    boolean streams = t.layout() == TopologyConfig.Layout.STREAMS;
    if (streams) {
      for (int p = 0; p < t.partitions(); p++) {
        fo.add(new Declaration.Queue(n.partitionStream(p), Map.of("x-queue-type", "stream",
            "x-max-age", t.streamMaxAge().toSeconds() + "s")));
        fo.add(new Declaration.Binding(n.partition(p), n.partitionStream(p), false, ""));
      }
    }
    for (String sink : t.sinks()) {
      // The dead-letter queues stay queues in both layouts: an operator lists, replays and purges them one by one.
      fo.add(new Declaration.Queue(n.deadLetterQueue(sink), queueArgs(t, Map.of())));
      fo.add(new Declaration.Binding(n.deadLetterExchange(), n.deadLetterQueue(sink), false, sink));
      for (int p = 0; p < t.partitions() && !streams; p++) {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("x-dead-letter-exchange", n.deadLetterExchange());
        args.put("x-dead-letter-routing-key", sink);
        if (t.singleActiveConsumer()) {
          args.put("x-single-active-consumer", true);
        }
        if (t.queueType() == TopologyConfig.QueueType.QUORUM) {
          args.put("x-delivery-limit", (long) t.deliveryLimit());
        }
        fo.add(new Declaration.Queue(n.sinkQueue(sink, p), queueArgs(t, args)));
        fo.add(new Declaration.Binding(n.partition(p), n.sinkQueue(sink, p), false, ""));
      }
    }
  }

  /** The edge → cloud shovel with the nodes of {@code region} (a broker name) as its destinations. */
  static Declaration.Shovel edgeShovel(IotpipeConfig cfg, String region) {
    Names n = cfg.topology().names();
    return shovel(n.prefix() + ".edge-to-cloud", n.edgeOutbound(), uris(cfg, cfg.broker(region)), n.cloudIngress(), cfg.topology());
  }

  private static Map<String, Object> queueArgs(TopologyConfig t, Map<String, Object> extra) {
    Map<String, Object> args = new LinkedHashMap<>(extra);
    args.put("x-queue-type", t.queueType() == TopologyConfig.QueueType.QUORUM ? "quorum" : "classic");
    return args;
  }

  private static List<String> uris(IotpipeConfig cfg, BrokerConfig b) {
    return b.uris().stream().map(u -> withCredentials(u, b, cfg)).toList();
  }

  private static Declaration.Shovel shovel(String name, String srcQueue, List<String> destinations, String destExchange,
                                           TopologyConfig t) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("src-protocol", "amqp091");
    // "amqp://" = the node the shovel runs on, with no credentials to store.
    v.put("src-uri", "amqp://");
    v.put("src-queue", srcQueue);
    v.put("src-prefetch-count", 1000L);
    v.put("src-delete-after", "never");
    v.put("dest-protocol", "amqp091");
    v.put("dest-uri", destinations);
    v.put("dest-exchange", destExchange);
    v.put("dest-add-forward-headers", false);
    v.put("ack-mode", "on-confirm");
    v.put("reconnect-delay", Math.max(1L, t.shovelReconnectDelay().toSeconds()));
    return new Declaration.Shovel(name, v);
  }

  /**
   * Shovel URIs must carry credentials (they are stored on the broker, and masked in every plan we print). With
   * {@code security:} the shovels log in as the shovel account, never as the administrator the config itself uses:
   * where the URI asks for a client certificate, with the shovel account's certificate alone (SASL EXTERNAL, the
   * certificate's CN is the user) — no password in the URI, because RabbitMQ 4.0's shovel writes its whole state, URIs
   * included, into the edge broker's log when the cloud closes its connection (seen in the demo's node log); else with
   * its password file (created here when missing: the stored URI must carry it, and apply sets the same password on
   * the account).
   */
  static String withCredentials(URI u, BrokerConfig b, IotpipeConfig cfg) {
    io.iotpipe.core.config.SecurityConfig sec = cfg.security();
    String username = b.username();
    String password = b.password().reveal() == null ? "" : b.password().reveal();
    String query = u.getRawQuery();
    if (sec.declared()) {
      username = ServiceAccounts.shovel(cfg.topology().names());
      java.nio.file.Path file = sec.passwordFile(username);
      if (!java.nio.file.Files.isRegularFile(file)) {
        io.iotpipe.core.config.SecretFiles.write(file, io.iotpipe.core.config.SecretFiles.newPassword().getBytes(StandardCharsets.UTF_8));
      }
      password = io.iotpipe.core.config.SecretFiles.read(file);
      if (query != null && query.contains("certfile=")) {
        java.nio.file.Path[] certAndKey = sec.certificate(username);
        if (!java.nio.file.Files.isRegularFile(certAndKey[0]) || !java.nio.file.Files.isRegularFile(certAndKey[1])) {
          // Else the shovel would sit in "starting" on the broker with nothing but a TLS error in the broker's log.
          throw new TopologyException("security.certificates: no client certificate and key for the shovel account at "
              + certAndKey[0].toAbsolutePath() + " / " + certAndKey[1].getFileName() + ": issue them (iotpipe pki issue "
              + username + ") or point security.certificates at the directory that holds them");
        }
        query = withClientCertificate(query, certAndKey);
        int port = u.getPort() > 0 ? u.getPort() : 5671;
        return u.getScheme() + "://" + u.getHost() + ":" + port + "/" + URLEncoder.encode(b.vhost(), StandardCharsets.UTF_8)
            + "?" + query + "&auth_mechanism=external";
      }
    }
    String user = URLEncoder.encode(username, StandardCharsets.UTF_8);
    String pass = URLEncoder.encode(password, StandardCharsets.UTF_8);
    String vhost = URLEncoder.encode(b.vhost(), StandardCharsets.UTF_8);
    int port = u.getPort() > 0 ? u.getPort() : ("amqps".equals(u.getScheme()) ? 5671 : 5672);
    // The query carries the shovel's TLS settings (cacertfile, certfile, keyfile, verify, server_name_indication).
    return u.getScheme() + "://" + user + ":" + pass + "@" + u.getHost() + ":" + port + "/" + vhost
        + (query == null ? "" : "?" + query);
  }

  /** The URI query with its {@code certfile}/{@code keyfile} pointing at {@code certAndKey} (others unchanged). */
  static String withClientCertificate(String rawQuery, java.nio.file.Path[] certAndKey) {
    return io.iotpipe.core.tls.PemTls.withClientCertificate(rawQuery, certAndKey);
  }
}
