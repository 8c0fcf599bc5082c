package io.iotpipe.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.GetResponse;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.topology.Change;
import io.iotpipe.topology.Declaration;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;
import io.iotpipe.topology.ServiceAccounts;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured edge (TLS only, certificate and password devices) and a secured cloud node (TLS only, client certificate
 * required), wired by the real topology planner and a least-privilege shovel over amqps: what a device, a service
 * account, an attacker and an anonymous visitor can and cannot do.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecureBrokerIT {

  @TempDir
  static Path dir;
  static LocalDeployment nodes;
  static Pki pki;
  static Pki foreign;
  static Enrollment enrollment;
  static AdminApi edgeApi;
  static AdminApi cloudApi;
  static Secret admin;
  static IotpipeConfig cfg;
  static final TopologyPlanner planner = new TopologyPlanner();
  static long applyTwiceMillis;
  static final Names NAMES = new Names("iotpipe");
  static final String ADMIN = ServiceAccounts.admin(NAMES);
  static final String ELK = ServiceAccounts.sink(NAMES, "elk");
  static final Set<String> arrived = ConcurrentHashMap.newKeySet();
  static final ByteArrayOutputStream console = new ByteArrayOutputStream();
  static PrintStream realOut;
  static PrintStream realErr;

  @BeforeAll
  static void start() throws Exception {
    // Everything this run prints is kept, to be searched for secrets at the end.
    realOut = System.out;
    realErr = System.err;
    System.setOut(new PrintStream(new TeeStream(realOut, console), true));
    System.setErr(new PrintStream(new TeeStream(realErr, console), true));

    pki = Pki.init(dir.resolve("pki"), "iotpipe");
    foreign = Pki.init(dir.resolve("evil-pki"), "evil");
    admin = new Secret("test", SecretFiles.newPassword());
    SecretFiles.write(dir.resolve("pki/passwords/" + ADMIN + ".password"), admin.reveal().getBytes(StandardCharsets.UTF_8));
    LocalNode.Tls edgeTls = new LocalNode.Tls(pki.caCert(), pki.serverCert(), pki.serverKey(), false, ADMIN, admin);
    LocalNode.Tls cloudTls = new LocalNode.Tls(pki.caCert(), pki.serverCert(), pki.serverKey(), true, ADMIN, admin);
    nodes = LocalDeployment.start(dir.resolve("nodes"), 1, edgeTls, cloudTls);

    SSLContext trustOnly = pki.sslContext(null);
    edgeApi = new AdminApi(nodes.edge().managementUri(), ADMIN, admin, trustOnly);
    cloudApi = new AdminApi(nodes.cloud().managementUri(), ADMIN, admin, trustOnly);
    enrollment = new Enrollment(pki, NAMES, "/");

    // Service accounts' client certificates (the cloud requires one). The accounts themselves come from the config.
    for (ServiceAccounts.Account a : ServiceAccounts.forTopology(NAMES, List.of("elk", "storage"))) {
      pki.issueClient(a.user());
    }
    // The cloud as an operator may find it: a guest, and the indexer's account with broader grants than declared.
    cloudApi.require("PUT", "users/guest", java.util.Map.of("password", "guest", "tags", "administrator"));
    cloudApi.require("PUT", "users/" + ELK, java.util.Map.of("password", "not-the-declared-one", "tags", "management"));
    cloudApi.require("PUT", "permissions/%2F/" + ELK, java.util.Map.of("configure", ".*", "write", ".*", "read", ".*"));

    // The real topology and the users and permissions of security:, declared by the planner over https/amqps URIs
    // carrying their TLS settings.
    String yaml = """
        brokers:
          edge:
            uris: ["%s"]
            management: "%s"
            username: %s
            password: ${ADMIN_PW}
          cloud:
            uris: ["%s"]
            management: "%s"
            username: %s
            password: ${ADMIN_PW}
        topology:
          prefix: iotpipe
          edges: [edge]
          balancer: cloud
          partitions: 2
          queueType: classic
        security:
          passwords: "%s"
          certificates: "%s"
        """.formatted(TlsUris.amqps(nodes.edge().amqpUri(), "/", pki, ADMIN), TlsUris.management(nodes.edge().managementUri(), pki), ADMIN,
        TlsUris.amqps(nodes.cloud().node(0).amqpUri(), "/", pki, ADMIN), TlsUris.management(nodes.cloud().managementUri(), pki), ADMIN,
        dir.resolve("pki/passwords").toAbsolutePath(), pki.dir().resolve("clients").toAbsolutePath());
    cfg = IotpipeConfig.parse("secure-test", yaml, k -> k.equals("ADMIN_PW") ? admin.reveal() : null);
    long t0 = System.nanoTime();
    Plan first = planner.plan(cfg);
    String shown = first.render();
    System.out.print(shown);
    assertThat(shown).contains("+ user iotpipe-shovel", "+ permissions iotpipe-shovel on vhost /", "- user guest",
        "~ user iotpipe-elk", "password: no file", "~ permissions iotpipe-elk on vhost /: configure ^$ write",
        "configure: wanted ^$, found .*", "= user iotpipe-admin");
    planner.apply(cfg, first);
    Plan second = planner.plan(cfg);
    assertThat(second.pending()).as(second.render()).isEmpty();
    assertThat(planner.apply(cfg, second)).isZero();
    applyTwiceMillis = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("FIGURE plan+apply+plan+apply (topology and accounts, 2 brokers): " + applyTwiceMillis + " ms");
    awaitShovelRunning();

    // Least privilege: the shovel's destination user is the shovel account (declared so by the topology compiler,
    // with its own certificate), not the administrator the config logs in with.
    String shovel = "shovel/%2F/" + AdminApi.enc(NAMES.prefix() + ".edge-to-cloud");
    String stored = edgeApi.require("GET", "parameters/" + shovel, null).toString();
    assertThat(stored).contains("iotpipe-shovel.crt", "auth_mechanism=external").doesNotContain(ADMIN + ":", "@127.0.0.1");

    enrollment.enroll(edgeApi, List.of("dev-cert-1", "dev-cert-2", "dev-revoked"), Enrollment.Credential.CERTIFICATE);
    enrollment.enroll(edgeApi, List.of("dev-pw-1"), Enrollment.Credential.PASSWORD);
  }

  private static void awaitShovelRunning() {
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      JsonNode s = edgeApi.require("GET", "shovels/%2F", null);
      assertThat(s).isNotEmpty();
      assertThat(s.get(0).path("state").asText()).as("shovel %s", s).isEqualTo("running");
    });
  }

  @AfterAll
  static void stop() {
    if (nodes != null) {
      nodes.close();
    }
    System.setOut(realOut);
    System.setErr(realErr);
  }

  // ---------- clients ----------

  /** An AMQP connection over TLS: certificate login (EXTERNAL) when {@code password} is null, PLAIN otherwise. */
  static Connection amqp(int port, SSLContext tls, String user, Secret password) throws Exception {
    ConnectionFactory f = new ConnectionFactory();
    f.setHost("127.0.0.1");
    f.setPort(port);
    f.setAutomaticRecoveryEnabled(false);
    f.setConnectionTimeout(5000);
    f.useSslProtocol(tls);
    f.enableHostnameVerification();
    if (password == null) {
      f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
    } else {
      f.setUsername(user);
      f.setPassword(password.reveal());
    }
    return f.newConnection("test-" + user);
  }

  static Connection device(String id) throws Exception {
    return amqp(nodes.edge().ports().amqp(), pki.sslContext(id), id, null);
  }

  static Connection elk() throws Exception {
    return amqp(nodes.cloud().node(0).ports().amqp(), pki.sslContext(ELK), ELK, enrollment.servicePassword(ELK));
  }

  /** Publishes one confirmed reading as {@code channel}'s user with routing key telemetry.{@code claimed}. */
  static String publish(Channel ch, String claimed) throws Exception {
    return publish(ch, claimed, UUID.randomUUID().toString());
  }

  static String publish(Channel ch, String claimed, String id) throws Exception {
    ch.confirmSelect();
    ch.basicPublish(NAMES.edgeIngress(), "telemetry." + claimed, true,
        new AMQP.BasicProperties.Builder().messageId(id).deliveryMode(2).build(), ("{\"deviceId\":\"" + claimed + "\"}").getBytes());
    ch.waitForConfirmsOrDie(10_000);
    return id;
  }

  /** Drains the elk partition queues of the cloud as the indexer's account, remembering message ids and MQTT bodies. */
  static void awaitArrival(String idOrBody) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      try (Connection c = elk(); Channel ch = c.createChannel()) {
        for (int p = 0; p < 2; p++) {
          GetResponse r;
          while ((r = ch.basicGet(NAMES.sinkQueue("elk", p), true)) != null) {
            arrived.add(r.getProps().getMessageId() != null ? r.getProps().getMessageId() : new String(r.getBody(), StandardCharsets.UTF_8));
          }
        }
      }
      assertThat(arrived).contains(idOrBody);
    });
  }

  static MqttClient mqtt(String id, Secret password, SSLContext tls) throws Exception {
    MqttClient c = new MqttClient("ssl://127.0.0.1:" + nodes.edge().mqttPort(), id, new MemoryPersistence());
    MqttConnectOptions o = new MqttConnectOptions();
    o.setSocketFactory(tls.getSocketFactory());
    o.setHttpsHostnameVerificationEnabled(true);
    o.setCleanSession(true);
    o.setAutomaticReconnect(false);
    o.setConnectionTimeout(10);
    if (password != null) {
      o.setUserName(id);
      o.setPassword(password.reveal().toCharArray());
    }
    c.setTimeToWait(10_000);
    c.connect(o);
    return c;
  }

  static String mqttPublish(MqttClient c, String claimed) throws Exception {
    return mqttPublish(c, claimed, "{\"deviceId\":\"" + claimed + "\",\"n\":\"" + UUID.randomUUID() + "\"}");
  }

  static String mqttPublish(MqttClient c, String claimed, String body) throws Exception {
    MqttMessage m = new MqttMessage(body.getBytes(StandardCharsets.UTF_8));
    m.setQos(1);
    c.publish("telemetry/" + claimed, m);
    return body;
  }

  // ---------- what must work ----------

  @Test
  @Order(1)
  void certificateAndPasswordDevicesPublishOverTlsAndTheirReadingsArrive() throws Exception {
    try (Connection c = device("dev-cert-1"); Channel ch = c.createChannel()) {
      assertThat(c.getServerProperties()).isNotNull();
      awaitArrival(publish(ch, "dev-cert-1"));
    }
    // A password device: TLS with server verification, no client certificate, PLAIN.
    try (Connection c = amqp(nodes.edge().ports().amqp(), pki.sslContext(null), "dev-pw-1",
        enrollment.servicePassword("dev-pw-1")); Channel ch = c.createChannel()) {
      awaitArrival(publish(ch, "dev-pw-1"));
    }
  }

  @Test
  @Order(2)
  void certificateAndPasswordDevicesPublishOverMqttTlsAndTheirReadingsArrive() throws Exception {
    MqttClient cert = mqtt("dev-cert-1", null, pki.sslContext("dev-cert-1"));
    try {
      awaitArrival(mqttPublish(cert, "dev-cert-1"));
    } finally {
      cert.disconnect();
      cert.close();
    }
    MqttClient pw = mqtt("dev-pw-1", enrollment.servicePassword("dev-pw-1"), pki.sslContext(null));
    try {
      awaitArrival(mqttPublish(pw, "dev-pw-1"));
    } finally {
      pw.disconnect();
      pw.close();
    }
  }

  @Test
  @Order(3)
  void aDeviceEnrolledForATenantLogsInWithThatCertificateAndItsRegistryEntryAgrees() throws Exception {
    io.iotpipe.core.tenant.TenantRegistry registry = new io.iotpipe.core.tenant.TenantRegistry(dir.resolve("tenants.tsv"));
    String id = "dev-acme-" + UUID.randomUUID().toString().substring(0, 8);
    enrollment.enroll(edgeApi, List.of(id), Enrollment.Credential.CERTIFICATE, "acme", registry, null);
    assertThat(registry.tenantOf(id)).isEqualTo("acme");
    assertThat(Pki.tenantOf(pki.clientCert(id))).isEqualTo("acme");
    // The tenant rides as a SAN URI beside the CN the broker takes as the user name: both protocols still log it in.
    try (Connection c = device(id); Channel ch = c.createChannel()) {
      awaitArrival(publish(ch, id));
    }
    MqttClient m = mqtt(id, null, pki.sslContext(id));
    try {
      awaitArrival(mqttPublish(m, id));
    } finally {
      m.disconnect();
      m.close();
    }
    assertThat(enrollment.tenantBindingProblems(registry)).isEmpty();

    // A charger resold to another customer: enrolled again, certificate and registry move together, and it logs in.
    enrollment.enroll(edgeApi, List.of(id), Enrollment.Credential.CERTIFICATE, "bolt", registry, null);
    assertThat(registry.tenantOf(id)).isEqualTo("bolt");
    assertThat(Pki.tenantOf(pki.clientCert(id))).isEqualTo("bolt");
    assertThat(enrollment.tenantBindingProblems(registry)).isEmpty();
    try (Connection c = device(id); Channel ch = c.createChannel()) {
      awaitArrival(publish(ch, id));
    }

    // The registry edited apart from the certificates (what `iotpipe device check` reports).
    registry.assign(List.of(id), "acme");
    assertThat(enrollment.tenantBindingProblems(registry)).containsExactly(
        java.util.Map.entry(id, "certificate names tenant bolt, the registry tenant acme"));
  }

  // ---------- what must be refused ----------

  @Test
  @Order(4)
  void aDevicePublishingAsAnotherDeviceIsRefusedAndNothingArrives() throws Exception {
    Set<String> spoofed = new HashSet<>();
    try (Connection c = device("dev-cert-1")) {
      Channel ch = c.createChannel(); // closed by the broker's refusal: no try-with-resources
      String id = "spoof-" + UUID.randomUUID();
      spoofed.add(id);
      assertThatThrownBy(() -> publish(ch, "dev-cert-2", id)).hasStackTraceContaining("ACCESS_REFUSED");
    }
    try (Connection c = amqp(nodes.edge().ports().amqp(), pki.sslContext(null), "dev-pw-1", enrollment.servicePassword("dev-pw-1"))) {
      Channel ch = c.createChannel();
      String id = "spoof-" + UUID.randomUUID();
      spoofed.add(id);
      assertThatThrownBy(() -> publish(ch, "dev-cert-2", id)).hasStackTraceContaining("ACCESS_REFUSED");
    }
    MqttClient m = mqtt("dev-cert-1", null, pki.sslContext("dev-cert-1"));
    try {
      String body = "{\"deviceId\":\"dev-cert-2\",\"spoof\":\"" + UUID.randomUUID() + "\"}";
      spoofed.add(body);
      // MQTT 3.1.1 has no negative PUBACK: the broker refuses by closing the connection.
      assertThatThrownBy(() -> mqttPublish(m, "dev-cert-2", body));
      await().atMost(Duration.ofSeconds(10)).until(() -> !m.isConnected());
    } finally {
      m.close();
    }
    // A legitimate reading sent afterwards arrives; by then an accepted spoof would have arrived too (same path, in order).
    try (Connection c = device("dev-cert-2"); Channel ch = c.createChannel()) {
      awaitArrival(publish(ch, "dev-cert-2"));
    }
    assertThat(arrived).doesNotContainAnyElementsOf(spoofed);
    assertThat(nodes.edge().queueDepths()).containsEntry(NAMES.edgeOutbound(), 0L);
  }

  @Test
  @Order(5)
  void aDeviceCannotConsumeAnyQueueNorDeclareAnything() throws Exception {
    try (Connection c = device("dev-cert-1")) {
      for (ThrowingAction a : List.<ThrowingAction>of(
          ch -> ch.basicConsume(NAMES.edgeOutbound(), true, (t, d) -> { }, t -> { }),
          ch -> ch.basicGet(NAMES.edgeOutbound(), true),
          ch -> ch.queueDeclare("mine", false, true, true, null),
          ch -> ch.queueDeclare(),
          ch -> ch.exchangeDeclare("mine", "fanout"),
          ch -> ch.queueBind(NAMES.edgeOutbound(), NAMES.edgeIngress(), "x"),
          ch -> ch.queuePurge(NAMES.edgeOutbound()))) {
        Channel ch = c.createChannel();
        assertThatThrownBy(() -> a.run(ch)).hasStackTraceContaining("ACCESS_REFUSED");
      }
    }
  }

  @Test
  @Order(6)
  void theIndexerAccountReadsOnlyElkQueues() throws Exception {
    try (Connection c = elk()) {
      Channel ok = c.createChannel();
      ok.basicGet(NAMES.sinkQueue("elk", 0), false);
      ok.close();
      Channel ch = c.createChannel();
      assertThatThrownBy(() -> ch.basicGet(NAMES.sinkQueue("storage", 0), false)).hasStackTraceContaining("ACCESS_REFUSED");
      Channel ch2 = c.createChannel();
      assertThatThrownBy(() -> ch2.queueDeclare("x", true, false, false, null)).hasStackTraceContaining("ACCESS_REFUSED");
    }
  }

  @Test
  @Order(7)
  void theManagementApiRefusesAnonymousAndGuest() throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(pki.sslContext(null)).build();
    for (URI m : List.of(nodes.edge().managementUri(), nodes.cloud().managementUri())) {
      HttpRequest anon = HttpRequest.newBuilder(m.resolve("/api/overview")).build();
      assertThat(http.send(anon, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(401);
      HttpRequest guest = HttpRequest.newBuilder(m.resolve("/api/overview"))
          .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes())).build();
      assertThat(http.send(guest, HttpResponse.BodyHandlers.discarding()).statusCode()).isEqualTo(401);
    }
    assertThat(edgeApi.call("GET", "users/guest", null).status()).isEqualTo(404);
    assertThat(cloudApi.call("GET", "users/guest", null).status()).isEqualTo(404);
  }

  @Test
  @Order(8)
  void plaintextListenersAreClosedAndPlaintextClientsRefused() throws Exception {
    for (AdminApi api : List.of(edgeApi, cloudApi)) {
      List<String> protocols = new ArrayList<>();
      api.require("GET", "overview", null).get("listeners").forEach(l -> protocols.add(l.get("protocol").asText()));
      assertThat(protocols).isNotEmpty().allMatch(p -> Set.of("amqp/ssl", "mqtt/ssl", "https", "https/prometheus", "clustering").contains(p));
      assertThat(protocols).contains("amqp/ssl", "https");
    }
    ConnectionFactory plain = new ConnectionFactory();
    plain.setHost("127.0.0.1");
    plain.setPort(nodes.edge().ports().amqp());
    plain.setConnectionTimeout(3000);
    plain.setHandshakeTimeout(3000);
    plain.setUsername(ADMIN);
    plain.setPassword(admin.reveal());
    assertThatThrownBy(plain::newConnection);
  }

  @Test
  @Order(9)
  void foreignCaExpiredAndMissingCertificatesAreRefused() throws Exception {
    int edge = nodes.edge().ports().amqp();
    // Another CA's certificate carrying a real device's name.
    foreign.issueClient("dev-cert-1");
    assertThatThrownBy(() -> amqp(edge, PemTlsAccess.context(pki.caCert(), foreign.clientCert("dev-cert-1"), foreign.clientKey("dev-cert-1")),
        "dev-cert-1", null).close());
    // An expired certificate of an enrolled device.
    Instant now = Instant.now();
    Enrollment.importDefinitions(edgeApi, enrollment.deviceDefinitions(List.of(
        new Enrollment.Enrolled("dev-expired", Enrollment.Credential.CERTIFICATE, null, null, null))));
    pki.issueClient("dev-expired", now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)));
    assertThatThrownBy(() -> amqp(edge, pki.sslContext("dev-expired"), "dev-expired", null).close());
    // No certificate at all where one is required (the cloud), even with the right password.
    assertThatThrownBy(() -> amqp(nodes.cloud().node(0).ports().amqp(), pki.sslContext(null), ELK, enrollment.servicePassword(ELK)).close());
    // A certificate user cannot log in with a password either (no password hash).
    assertThatThrownBy(() -> amqp(edge, pki.sslContext(null), "dev-cert-1", new Secret("x", "")).close());
    // MQTT with a foreign certificate.
    assertThatThrownBy(() -> mqtt("dev-cert-1", null,
        PemTlsAccess.context(pki.caCert(), foreign.clientCert("dev-cert-1"), foreign.clientKey("dev-cert-1"))).close());
  }

  @Test
  @Order(10)
  void aRevokedDeviceIsDisconnectedAndCannotReconnect() throws Exception {
    Connection c = device("dev-revoked");
    Channel ch = c.createChannel();
    publish(ch, "dev-revoked");
    MqttClient m = mqtt("dev-revoked-mqtt-session", null, pki.sslContext("dev-revoked"));
    SSLContext kept = pki.sslContext("dev-revoked"); // the attacker kept the key and certificate
    enrollment.revoke(edgeApi, "dev-revoked");
    await().atMost(Duration.ofSeconds(15)).until(() -> !c.isOpen());
    await().atMost(Duration.ofSeconds(15)).until(() -> !m.isConnected());
    m.close();
    assertThatThrownBy(() -> amqp(nodes.edge().ports().amqp(), kept, "dev-revoked", null).close());
    assertThatThrownBy(() -> mqtt("dev-revoked", null, kept).close());
    assertThat(pki.clientKey("dev-revoked")).doesNotExist();
  }

  @Test
  @Order(11)
  void planFindsADeviceWhoseGrantsDriftedAndApplyRepairsIt() throws Exception {
    edgeApi.require("PUT", "permissions/%2F/dev-cert-2", java.util.Map.of("configure", ".*", "write", ".*", "read", ".*"));
    Plan p = planner.planAccounts(cfg);
    Change dev = p.byBroker().get("edge").stream().filter(c -> c.declaration() instanceof Declaration.DevicePermissions)
        .findFirst().orElseThrow();
    assertThat(dev.action()).isEqualTo(Change.Action.UPDATE);
    assertThat(dev.detail()).startsWith("1 of ").contains("dev-cert-2 (configure: wanted ^$, found .*");
    assertThat(planner.apply(cfg, p)).isEqualTo(1);
    assertThat(planner.planAccounts(cfg).pending()).isEmpty();
    try (Connection c = device("dev-cert-2")) {
      Channel ch = c.createChannel();
      assertThatThrownBy(() -> ch.basicGet(NAMES.edgeOutbound(), true)).hasStackTraceContaining("ACCESS_REFUSED");
    }
  }

  @Test
  @Order(12)
  void enrollingTenThousandDevicesTakesSeconds() {
    List<String> fleet = Enrollment.fleetIds("fleet", 10_000);
    Enrollment.Report certs = enrollment.enroll(edgeApi, fleet, Enrollment.Credential.CERTIFICATE);
    List<String> pwFleet = Enrollment.fleetIds("pwfleet", 10_000);
    Enrollment.Report pws = enrollment.enroll(edgeApi, pwFleet, Enrollment.Credential.PASSWORD);
    System.out.printf("FIGURE enroll 10000 certificate devices: issue %d ms, import %d ms; 10000 password devices: issue %d ms, import %d ms%n",
        certs.issueMillis(), certs.importMillis(), pws.issueMillis(), pws.importMillis());
    JsonNode users = edgeApi.require("GET", "users?columns=name", null);
    assertThat(users.size()).isGreaterThanOrEqualTo(20_000);
    // Measured on 2 shared cores: issuing 10,000 certificates 4-15 s (CPU-bound, 7 s of CPU), importing them 15-16 s
    // (RabbitMQ 3.10: about 1.5 ms per device, see Enrollment.importDevices).
    assertThat(certs.importMillis()).isLessThan(90_000);
    assertThat(pws.importMillis()).isLessThan(90_000);
    assertThat(Files.isRegularFile(pki.clientKey("fleet-09999"))).isTrue();
  }

  @Test
  @Order(13)
  void keyAndPasswordFilesAreOwnerOnly() throws Exception {
    for (Path p : List.of(pki.dir().resolve("ca.key"), pki.serverKey(), pki.clientKey("dev-cert-1"), enrollment.passwordFile("dev-pw-1"),
        enrollment.passwordFile(ELK), nodes.edge().spec().dir().resolve("rabbitmq.conf"))) {
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rw-------");
    }
  }

  @Test
  @Order(14)
  void noSecretAppearsInAnyLogOrOutput() throws Exception {
    List<String> secrets = new ArrayList<>();
    secrets.add(admin.reveal());
    for (String user : List.of(ELK, ServiceAccounts.sink(NAMES, "storage"), ServiceAccounts.shovel(NAMES), "dev-pw-1", "pwfleet-00000")) {
      secrets.add(SecretFiles.read(enrollment.passwordFile(user)));
    }
    for (Path key : List.of(pki.dir().resolve("ca.key"), pki.serverKey(), pki.clientKey("dev-cert-1"), pki.clientKey(ELK), pki.clientKey("fleet-00000"))) {
      // Any line of a key's base64 body is long enough to be unique.
      Files.readAllLines(key).stream().filter(l -> !l.startsWith("-----") && l.length() > 40).forEach(secrets::add);
    }
    assertThat(secrets).hasSizeGreaterThan(10);
    List<Path> written = new ArrayList<>();
    try (Stream<Path> s = Files.walk(nodes.dir())) {
      // Logs, start output, state file. Excluded by design: each node's 0600 rabbitmq.conf (holds the first-boot admin
      // password) and the database (the shovel's URI is a stored parameter, like any credential store).
      s.filter(Files::isRegularFile).filter(p -> !p.toString().contains("/mnesia/") && !p.getFileName().toString().equals("rabbitmq.conf"))
          .forEach(written::add);
    }
    assertThat(written).anyMatch(p -> p.toString().endsWith(".log"));
    for (Path p : written) {
      String text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
      for (String secret : secrets) {
        assertThat(text).as("%s must not contain a secret", p).doesNotContain(secret);
      }
    }
    String out = console.toString(StandardCharsets.UTF_8);
    assertThat(out).contains("FIGURE enroll");
    for (String secret : secrets) {
      assertThat(out).as("test output").doesNotContain(secret);
    }
  }

  interface ThrowingAction {
    void run(Channel ch) throws Exception;
  }

  /** Copies writes to the real stream and a buffer. */
  static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final java.io.OutputStream b;

    TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int x) throws java.io.IOException {
      a.write(x);
      b.write(x);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }

  /** A context trusting our CA but presenting a certificate of another CA. */
  static final class PemTlsAccess {
    static SSLContext context(Path ca, Path cert, Path key) {
      return io.iotpipe.core.tls.PemTls.context(ca, cert, key);
    }
  }
}
