package io.iotpipe.tools.demo;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.tenant.TenantRegistry;
import io.iotpipe.core.tls.PemTls;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.simulator.DeviceCredentials;
import io.iotpipe.simulator.Ledger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code demo --tenants a,b}: the fleet split over tenants through the tenant registry the roles read, the readings
 * per tenant for the summary, and one forged reading — a device of the first tenant claiming the second — that must
 * come back from the dead-letter queue with its reason. {@code scripts/search-compat.sh tenants} builds its proof on it.
 */
final class DemoTenants {

  /** The forged reading's seq: far above the fleet's, so it can never be one of the ledger's readings. */
  static final long FORGED_SEQ = 1_000_000_000L;

  private final List<String> tenants;
  private final Map<String, List<String>> devices = new LinkedHashMap<>();

  DemoTenants(List<String> tenants) {
    tenants.forEach(io.iotpipe.core.tenant.TenantId::check);
    if (tenants.size() < 2) {
      throw new IllegalArgumentException("--tenants needs at least two tenant ids (e.g. a,b): the proof needs another tenant to claim");
    }
    this.tenants = List.copyOf(tenants);
  }

  /** The config lines (top level) naming the registry, appended after the storage section's. */
  static String yaml(Path registry) {
    return "tenants:\n  registry: " + registry.toAbsolutePath() + "\n";
  }

  /** Device i goes to tenant i mod n; written to the registry before any device is enrolled. */
  void assign(TenantRegistry registry, List<String> ids) {
    tenants.forEach(t -> devices.put(t, new ArrayList<>()));
    for (int i = 0; i < ids.size(); i++) {
      devices.get(tenants.get(i % tenants.size())).add(ids.get(i));
    }
    devices.forEach((t, d) -> registry.assign(d, t));
  }

  /** Per tenant: its devices and the readings the fleet had confirmed for them (what its indices must hold). */
  Map<String, Object> summary(Ledger ledger) {
    Map<String, Object> out = new LinkedHashMap<>();
    devices.forEach((t, d) -> {
      long confirmed = d.stream().mapToLong(id -> ledger.devices().containsKey(id) ? ledger.devices().get(id).confirmed() : 0).sum();
      long withReadings = d.stream().filter(id -> ledger.devices().containsKey(id) && ledger.devices().get(id).confirmed() > 0).count();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("devices", d.size());
      m.put("devicesWithReadings", withReadings);
      m.put("confirmed", confirmed);
      out.put(t, m);
    });
    return out;
  }

  /**
   * A device of the first tenant publishes, with its own certificate under its own routing key (so the broker lets it
   * through), a reading whose body claims the second tenant; returns the dead-letter reason the indexer gave it, or
   * what happened instead.
   */
  String forgeClaim(IotpipeConfig cfg, DeviceCredentials creds) throws Exception {
    String device = devices.get(tenants.get(0)).getFirst();
    String claimed = tenants.get(1);
    var edge = cfg.broker(cfg.simulator().edge());
    ConnectionFactory f = new ConnectionFactory();
    f.setVirtualHost(edge.vhost());
    f.setAutomaticRecoveryEnabled(false);
    f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
    f.useSslProtocol(PemTls.context(creds.caFile(), creds.cert(device), creds.key(device)));
    f.enableHostnameVerification();
    TelemetryCodec codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC());
    String body = new String(codec.encode(new Telemetry(device, FORGED_SEQ, Instant.now(), "forged-site", "eu-west", "CHARGING", null,
        Map.of("powerKw", 1.0))), StandardCharsets.UTF_8);
    body = body.substring(0, body.lastIndexOf('}')) + ",\"tenant\":\"" + claimed + "\"}";
    try (Connection c = f.newConnection(Amqp.addresses(edge, false), device); Channel ch = c.createChannel()) {
      ch.confirmSelect();
      ch.basicPublish(cfg.topology().names().edgeIngress(), "telemetry." + device,
          new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").build(), body.getBytes(StandardCharsets.UTF_8));
      ch.waitForConfirmsOrDie(10_000);
    }
    Names n = cfg.topology().names();
    long deadline = System.nanoTime() + 60_000_000_000L;
    try (Connection c = Amqp.connect(cfg.sinkBroker(), "demo-tenants-dlq"); Channel ch = c.createChannel()) {
      while (System.nanoTime() < deadline) {
        GetResponse g = ch.basicGet(n.deadLetterQueue("elk"), false);
        if (g != null) {
          Object why = g.getProps().getHeaders() == null ? null : g.getProps().getHeaders().get(Names.REASON_HEADER);
          // left in the queue for `iotpipe dlq list`
          ch.basicNack(g.getEnvelope().getDeliveryTag(), false, true);
          if (new String(g.getBody(), StandardCharsets.UTF_8).contains("\"seq\":" + FORGED_SEQ)) {
            return String.valueOf(why);
          }
        }
        Thread.sleep(250); // polling the dead-letter queue; nothing to wait on in AMQP for a basic.get
      }
    }
    return "not dead-lettered within 60 s";
  }

  String forger() {
    return devices.get(tenants.get(0)).getFirst();
  }
}
