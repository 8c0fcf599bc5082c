package io.iotpipe.testkit.chaos;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Address;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.ShutdownSignalException;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.core.tls.PemTls;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.rabbitmq.Amqp;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.audit.Completeness;
import io.iotpipe.security.Enrollment;
import io.iotpipe.simulator.DeviceCredentials;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.storage.StoreQuery;
import io.iotpipe.testkit.LocalStack;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@code spoofing} chaos scenario, on the secured stack: a legitimate fleet publishes under load while an enrolled
 * attacker device (its own certificate, its own TLS connection) keeps trying to pass readings off as its victims'.
 * <ol>
 *   <li>with a victim's routing key: the broker's topic permission refuses it (the channel is closed with
 *       ACCESS_REFUSED; the attacker reopens it and keeps trying);</li>
 *   <li>with its own routing key but a victim named in the body: the broker lets it through (the key is the
 *       attacker's own), and both sinks dead-letter it because the body's device is not the publisher's.</li>
 * </ol>
 * Every forged reading carries a sequence number from {@link #MARK} up, which no fleet reaches in a run, so the forged
 * readings that got into a sink can be counted by searching both sinks for them. The row fails unless that count is 0
 * and the legitimate fleet lost and doubled nothing.
 */
final class Spoofing {

  /** Forged readings' sequence numbers start here; a simulated device publishes one reading a second or so. */
  static final long MARK = 1_000_000;

  private Spoofing() {}

  /** On {@code stack} when it is secured; otherwise on a secured edge and cloud started beside it (same search engine). */
  static ChaosScenarios.Row run(LocalStack stack, boolean quick, Consumer<String> log) throws Exception {
    if (stack.security().secure()) {
      return on(stack, quick, log);
    }
    log.accept("chaos: spoofing ... (starting a secured edge and cloud beside the plain stack; the same OpenSearch)");
    URI search = stack.search() != null ? stack.search().httpUri() : stack.config().indexer().urls().getFirst();
    String id = "s" + UUID.randomUUID().toString().substring(0, 6);
    try (LocalStack secured = LocalStack.start(stack.dir().resolve(id + "-secured"), 1, 2, "  rollAge: 3s", true, search,
        LocalStack.Security.secure(Enrollment.Credential.CERTIFICATE), log)) {
      return on(secured, quick, log);
    }
  }

  private static ChaosScenarios.Row on(LocalStack stack, boolean quick, Consumer<String> log) throws Exception {
    log.accept("chaos: spoofing ...");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml");
    double rate = quick ? 300 : 500;
    Duration load = quick ? Duration.ofSeconds(15) : Duration.ofSeconds(60);
    Simulation.Options o = Simulation.Options.from(cfg.simulator()).with(100, rate, load, 0)
        .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP);
    List<String> victims = Simulation.deviceIds(o);
    String attackerId = "attacker-" + prefix;
    stack.enroll(cfg, List.of(attackerId));
    try (PipelineRunner runner = new PipelineRunner(stack.roleConfigs(cfg), prefix, new SimpleMeterRegistry()).start();
         Simulation sim = stack.simulation(cfg, o, null);
         Attacker attacker = new Attacker(cfg, stack.deviceCredentials(), attackerId)) {
      CompletableFuture<SimulationResult> simRun = ChaosScenarios.runAsync(sim, "chaos-sim");
      ChaosScenarios.waitFor(Duration.ofSeconds(60), ChaosScenarios.loadStarted(rate * 2), () -> sim.progress().confirmed() > rate * 2);
      for (int i = 0; sim.progress().generating() && !simRun.isDone(); i++) {
        String victim = victims.get(i % victims.size());
        attacker.withVictimsKey(victim);
        attacker.withOwnKey(victim);
        TimeUnit.MILLISECONDS.sleep(50); // the attacker's pace: about 20 attempts of each kind a second
      }
      SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
      Completeness.Result es = ChaosScenarios.audit(cfg, List.of(sim.ledger()), true);
      Completeness.Result st = ChaosScenarios.audit(cfg, List.of(sim.ledger()), false);
      // Every forged reading the broker let through must end in both dead-letter queues.
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (ChaosScenarios.deadLettered(stack, cfg) < 2 * attacker.ownKeyConfirmed && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(500); // polling queue depths (the management API lags a few seconds)
      }
      long dlq = ChaosScenarios.deadLettered(stack, cfg);
      long forgedInSearch = forgedInSearch(cfg);
      long forgedInStore = forgedInStore(cfg);
      String reason = reason(cfg);
      String note = String.format(java.util.Locale.ROOT,
          "attacker %s (own certificate): %d publishes with victims' routing keys -> %d refused by the broker (ACCESS_REFUSED,"
              + " channel reopened each time), %d confirmed; %d with its own key naming victims in the body -> %d confirmed, dead-lettered"
              + " in both sinks (\"%s\"); forged readings (seq >= %d) in search %d, in store %d",
          attackerId, attacker.victimKeyAttempts, attacker.victimKeyRefused, attacker.victimKeyConfirmed, attacker.ownKeyAttempts,
          attacker.ownKeyConfirmed, reason, MARK, forgedInSearch, forgedInStore);
      long attempts = attacker.victimKeyAttempts + attacker.ownKeyAttempts;
      return new ChaosScenarios.Row("spoofing", r.published() + attacker.ownKeyConfirmed, r.confirmed() + attacker.ownKeyConfirmed,
          es.present(), st.present(), dlq, attacker.ownKeyConfirmed, es.lost() + st.lost(), es.duplicates() + st.duplicates(),
          Double.NaN, Double.NaN, note, attempts, forgedInSearch + forgedInStore + attacker.victimKeyConfirmed);
    }
  }

  /** Forged readings the index holds (the marker range of {@code seq}). */
  static long forgedInSearch(IotpipeConfig cfg) throws Exception {
    var ix = cfg.indexer();
    String indices = ix.period() == io.iotpipe.core.config.IndexerConfig.IndexPeriod.NONE ? ix.indexPrefix() : ix.indexPrefix() + "-20*";
    try (EsClient es = new EsClient(ix)) {
      es.sendSync("POST", "/" + indices + "/_refresh", null);
      EsClient.Response resp = es.sendSync("POST", "/" + indices + "/_count?ignore_unavailable=true&allow_no_indices=true",
          "{\"query\":{\"range\":{\"seq\":{\"gte\":" + MARK + "}}}}");
      if (resp.status() != 200) {
        throw new IllegalStateException("counting forged readings failed: HTTP " + resp.status() + ": " + resp.text());
      }
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body()).path("count").asLong();
    }
  }

  /** Forged readings the store's committed files hold. */
  static long forgedInStore(IotpipeConfig cfg) {
    if (!Files.isDirectory(cfg.storage().dir())) {
      return 0;
    }
    try (StoreQuery q = new StoreQuery(cfg.storage().dir())) {
      return ((Number) q.query("SELECT count(*) FROM telemetry WHERE seq >= " + MARK).rows().getFirst().getFirst()).longValue();
    } catch (IllegalStateException noFiles) {
      return 0;
    }
  }

  /** The reason header of one dead-lettered forged reading (peeked, then put back). */
  static String reason(IotpipeConfig cfg) throws Exception {
    Names n = cfg.topology().names();
    try (Connection c = Amqp.connect(cfg.sinkBroker(), "chaos-spoofing-dlq"); Channel ch = c.createChannel()) {
      GetResponse g = ch.basicGet(n.deadLetterQueue("elk"), false);
      if (g == null) {
        return "no dead-lettered reading";
      }
      Object why = g.getProps().getHeaders() == null ? null : g.getProps().getHeaders().get(Names.REASON_HEADER);
      ch.basicNack(g.getEnvelope().getDeliveryTag(), false, true);
      return String.valueOf(why);
    }
  }

  /** The attacker: an enrolled device with its own certificate and one TLS connection, reopened whenever it is closed. */
  static final class Attacker implements AutoCloseable {
    private final ConnectionFactory factory;
    private final List<Address> addresses;
    private final String id;
    private final String exchange;
    private final TelemetryCodec codec;
    private final AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").build();
    private Connection connection;
    private Channel channel;
    private long seq = MARK;
    long victimKeyAttempts;
    long victimKeyRefused;
    long victimKeyConfirmed;
    long ownKeyAttempts;
    long ownKeyConfirmed;

    Attacker(IotpipeConfig cfg, DeviceCredentials creds, String id) {
      this.id = id;
      this.exchange = cfg.topology().names().edgeIngress();
      this.codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC());
      var edge = cfg.broker(cfg.simulator().edge());
      this.addresses = Amqp.addresses(edge, false);
      ConnectionFactory f = new ConnectionFactory();
      f.setVirtualHost(edge.vhost());
      f.setAutomaticRecoveryEnabled(false);
      f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
      f.useSslProtocol(PemTls.context(creds.caFile(), creds.cert(id), creds.key(id)));
      f.enableHostnameVerification();
      this.factory = f;
    }

    private Channel channel() throws Exception {
      if (connection == null || !connection.isOpen()) {
        connection = factory.newConnection(addresses, id);
      }
      if (channel == null || !channel.isOpen()) {
        channel = connection.createChannel();
        channel.confirmSelect();
      }
      return channel;
    }

    private byte[] forged(String victim) {
      return codec.encode(new Telemetry(victim, seq++, Instant.now(), "forged-site", "eu-west", "CHARGING", null, Map.of("powerKw", 99.0)));
    }

    /** (a) a victim's reading under the victim's routing key. */
    void withVictimsKey(String victim) {
      victimKeyAttempts++;
      try {
        Channel ch = channel();
        ch.basicPublish(exchange, "telemetry." + victim, props, forged(victim));
        ch.waitForConfirmsOrDie(5_000);
        victimKeyConfirmed++;
      } catch (Exception e) {
        if (refused(e)) {
          victimKeyRefused++;
        }
      }
    }

    /** (b) a victim's reading under the attacker's own routing key. */
    void withOwnKey(String victim) {
      ownKeyAttempts++;
      try {
        Channel ch = channel();
        ch.basicPublish(exchange, "telemetry." + id, props, forged(victim));
        ch.waitForConfirmsOrDie(5_000);
        ownKeyConfirmed++;
      } catch (Exception e) {
        // not confirmed: not counted as injected
      }
    }

    static boolean refused(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof ShutdownSignalException s && s.getReason() instanceof AMQP.Channel.Close c && c.getReplyCode() == AMQP.ACCESS_REFUSED) {
          return true;
        }
      }
      return false;
    }

    @Override
    public void close() {
      if (connection != null) {
        try {
          connection.abort(2000);
        } catch (RuntimeException ignored) {
          // already closed
        }
      }
    }
  }
}
