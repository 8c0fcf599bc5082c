package io.iotpipe.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.Names;
import io.iotpipe.core.config.Secret;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.topology.TopologyPlanner;
import io.iotpipe.topology.ServiceAccounts;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The secured local stack in a few calls (for the demo, tests and benchmarks):
 * <ol>
 *   <li>{@link #start}: the fleet PKI in {@code dir/pki}, an edge (TLS only, certificate or password devices) and a
 *       cloud (TLS only, client certificate required), no {@code guest}; the administrator and the service accounts
 *       (shovel, one per sink) with their passwords (0600 files) and client certificates;</li>
 *   <li>{@link #configYaml(String, int, String)}: a config whose brokers use amqps/https URIs with the fleet CA and the
 *       chosen account's certificate; its password comes from {@link #env(String)} (variable {@link #PASSWORD_ENV});</li>
 *   <li>the topology is applied as the administrator; with the config's {@code security:} section its shovels log in
 *       to the cloud as the shovel account, with its certificate, over amqps with peer verification
 *       ({@link #shovelUsers} reads that back);</li>
 *   <li>{@link #enrollDevices}: devices, by certificate (files in {@link #clientsDir()}) or password.</li>
 * </ol>
 */
public final class SecureLocalStack implements AutoCloseable {

  /** The environment variable the generated configs read the broker password from. */
  public static final String PASSWORD_ENV = "IOTPIPE_BROKER_PASSWORD";

  private final Pki pki;
  private final LocalDeployment nodes;
  private final Names names;
  private final Enrollment enrollment;
  private final String admin;
  private final List<String> sinks;

  private SecureLocalStack(Pki pki, LocalDeployment nodes, Names names, String admin, List<String> sinks) {
    this.sinks = List.copyOf(sinks);
    this.pki = pki;
    this.nodes = nodes;
    this.names = names;
    this.admin = admin;
    this.enrollment = new Enrollment(pki, names, "/");
  }

  /** Starts everything (see the class comment); {@code sinks} as in {@code topology.sinks} (e.g. elk, storage). */
  public static SecureLocalStack start(Path dir, int cloudNodes, String prefix, List<String> sinks) {
    return start(dir, cloudNodes, prefix, sinks, false);
  }

  /** As above; {@code cloudStreams}: the cloud nodes also serve the stream protocol (over TLS), see {@link LocalDeployment}. */
  public static SecureLocalStack start(Path dir, int cloudNodes, String prefix, List<String> sinks, boolean cloudStreams) {
    SecureLocalStack s = startWithoutAccounts(dir, cloudNodes, prefix, sinks, cloudStreams);
    try {
      // The service accounts and no guest, declared from the config's security: section by the topology planner
      // (the one path every config uses; the full apply later finds them unchanged).
      IotpipeConfig cfg = IotpipeConfig.parse("secure-local-stack", s.configYaml(s.admin, 1, null), s.env(s.admin));
      TopologyPlanner planner = new TopologyPlanner();
      planner.apply(cfg, planner.planAccounts(cfg));
    } catch (RuntimeException e) {
      s.nodes.close();
      throw e;
    }
    return s;
  }

  /**
   * The PKI (service accounts' certificates included) and secured nodes holding only their bootstrap administrator,
   * as a freshly installed secured broker does: no service account, no topology (e.g. to import definitions into).
   */
  public static SecureLocalStack startWithoutAccounts(Path dir, int cloudNodes, String prefix, List<String> sinks) {
    return startWithoutAccounts(dir, cloudNodes, prefix, sinks, false);
  }

  static SecureLocalStack startWithoutAccounts(Path dir, int cloudNodes, String prefix, List<String> sinks, boolean cloudStreams) {
    Names names = new Names(prefix);
    Pki pki = Pki.init(dir.resolve("pki"), prefix);
    Enrollment enrollment = new Enrollment(pki, names, "/");
    List<ServiceAccounts.Account> accounts = ServiceAccounts.forTopology(names, sinks);
    String admin = ServiceAccounts.admin(names);
    // The administrator's password is needed before the nodes' first boot (they create that user); the other
    // accounts' passwords are written by the topology apply below, like for any config with security:.
    Path adminFile = enrollment.passwordFile(admin);
    if (!Files.exists(adminFile)) {
      SecretFiles.write(adminFile, SecretFiles.newPassword().getBytes(StandardCharsets.UTF_8));
    }
    for (ServiceAccounts.Account a : accounts) {
      if (!Files.exists(pki.clientCert(a.user()))) {
        pki.issueClient(a.user());
      }
    }
    Secret adminPassword = enrollment.servicePassword(admin);
    LocalNode.Tls edgeTls = new LocalNode.Tls(pki.caCert(), pki.serverCert(), pki.serverKey(), false, admin, adminPassword);
    LocalNode.Tls cloudTls = new LocalNode.Tls(pki.caCert(), pki.serverCert(), pki.serverKey(), true, admin, adminPassword);
    LocalDeployment nodes = LocalDeployment.start(dir.resolve("nodes"), cloudNodes, edgeTls, cloudTls, cloudStreams);
    return new SecureLocalStack(pki, nodes, names, admin, sinks);
  }

  public Pki pki() {
    return pki;
  }

  public LocalDeployment nodes() {
    return nodes;
  }

  public Enrollment enrollment() {
    return enrollment;
  }

  /** Where enrolled devices' certificates and keys are ({@code <id>.crt}, {@code <id>.key}). */
  public Path clientsDir() {
    return pki.dir().resolve("clients");
  }

  public String adminUser() {
    return admin;
  }

  public AdminApi edgeApi() {
    return new AdminApi(nodes.edge().managementUri(), admin, enrollment.servicePassword(admin), pki.sslContext(null));
  }

  public AdminApi cloudApi() {
    return new AdminApi(nodes.cloud().managementUri(), admin, enrollment.servicePassword(admin), pki.sslContext(null));
  }

  /**
   * The environment for a config from {@link #configYaml}: {@link #PASSWORD_ENV} = {@code account}'s password, other
   * names from the process environment. Hand it to {@code IotpipeConfig.parse/load}, or put the variable into a
   * child process's environment (never on its command line).
   */
  public Function<String, String> env(String account) {
    Secret pw = enrollment.servicePassword(account);
    return k -> PASSWORD_ENV.equals(k) ? pw.reveal() : System.getenv(k);
  }

  /**
   * A complete config for these nodes as {@code account} (the administrator for topology apply and tools; a sink's
   * account, e.g. {@code <prefix>-elk}, for its consumer role): amqps URIs trusting the fleet CA and presenting the
   * account's certificate, https management URIs, password from {@code ${IOTPIPE_BROKER_PASSWORD}}.
   */
  public String configYaml(String account, int partitions, String extra) {
    return configYaml(names.prefix(), account, partitions, extra);
  }

  /** As {@link #configYaml(String, int, String)} for the pipeline {@code prefix} (see {@link #addPipeline}). */
  public String configYaml(String prefix, String account, int partitions, String extra) {
    String edgeUri = TlsUris.amqps(nodes.edge().amqpUri(), "/", pki, account).toString();
    String cloudUris = nodes.cloud().nodes().stream().map(n -> "\"" + TlsUris.amqps(n.amqpUri(), "/", pki, account) + "\"")
        .collect(Collectors.joining(", "));
    String streamUris = nodes.cloud().streamUris().isEmpty() ? ""
        : "\n    streamUris: [" + nodes.cloud().streamUris().stream().map(java.net.URI::toString).collect(Collectors.joining(", ")) + "]";
    return """
        # Generated for secured local nodes (TLS only; see brokers.json). Password from $%s.
        brokers:
          edge:
            uris: ["%s"]
            management: "%s"
            username: %s
            password: ${%s}
            region: eu-west
          cloud:
            uris: [%s]
            management: "%s"%s
            username: %s
            password: ${%s}
            region: eu-west
        topology:
          prefix: %s
          edges: [edge]
          balancer: cloud
          partitions: %d
          queueType: quorum
          sinks: [%s]
        security:
          passwords: "%s"
          certificates: "%s"
        simulator:
          edge: edge
          mqtt: ssl://127.0.0.1:%d
        """.formatted(PASSWORD_ENV, edgeUri, TlsUris.management(nodes.edge().managementUri(), pki), account, PASSWORD_ENV,
        cloudUris, TlsUris.management(nodes.cloud().managementUri(), pki), streamUris, account, PASSWORD_ENV, prefix, partitions,
        String.join(", ", sinks), enrollment.passwordFile(admin).getParent().toAbsolutePath(), clientsDir().toAbsolutePath(),
        nodes.edge().mqttPort()) + (extra == null ? "" : extra);
  }

  /**
   * The account each shovel of {@code cfg}'s pipeline logs in to its destinations as, read back from the brokers
   * (name → user; the topology compiler declares them as the shovel account with {@code security:}).
   */
  public Map<String, String> shovelUsers(IotpipeConfig cfg) {
    Map<String, String> users = new java.util.TreeMap<>();
    for (AdminApi api : List.of(edgeApi(), cloudApi())) {
      JsonNode params = api.require("GET", "parameters/shovel", null);
      for (JsonNode p : params == null ? List.<JsonNode>of() : params) {
        if (!p.path("name").asText().startsWith(cfg.topology().prefix() + ".")) {
          continue;
        }
        for (JsonNode uri : p.path("value").path("dest-uri")) {
          users.merge(p.path("name").asText(), loginOf(uri.asText()), (x, y) -> x.equals(y) ? x : x + "," + y);
        }
      }
    }
    return users;
  }

  /**
   * The user a shovel URI logs in as: its certificate's CN with {@code auth_mechanism=external} (the nodes take the CN
   * as the user), else the URI's user.
   */
  static String loginOf(String uri) {
    java.util.Map<String, String> q = io.iotpipe.core.tls.PemTls.query(java.net.URI.create(uri));
    if ("external".equals(q.get("auth_mechanism")) && q.containsKey("certfile")) {
      try (java.io.InputStream in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(q.get("certfile")))) {
        var cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
        return new javax.naming.ldap.LdapName(cert.getSubjectX500Principal().getName()).getRdns().stream()
            .filter(r -> r.getType().equalsIgnoreCase("CN")).map(r -> r.getValue().toString()).findFirst().orElse("?");
      } catch (java.io.IOException | java.security.GeneralSecurityException | javax.naming.InvalidNameException e) {
        return "? (" + e.getMessage() + ")";
      }
    }
    String rest = uri.substring(uri.indexOf("://") + 3);
    return java.net.URLDecoder.decode(rest.substring(0, rest.indexOf(':')), StandardCharsets.UTF_8);
  }

  /** Enrolls devices on the edge (one definitions import). */
  public Enrollment.Report enrollDevices(List<String> ids, Enrollment.Credential credential) {
    return enrollment.enroll(edgeApi(), ids, credential);
  }

  /** Enrolls devices of the pipeline {@code prefix} (their grants name that pipeline's ingress exchange). */
  public Enrollment.Report enrollDevices(String prefix, List<String> ids, Enrollment.Credential credential) {
    return new Enrollment(pki, new Names(prefix), "/").enroll(edgeApi(), ids, credential);
  }

  /**
   * Another pipeline on the same nodes (own name prefix, as tests, chaos scenarios and benchmark rounds use): its
   * shovel and sink accounts (with passwords and client certificates) on both nodes. The administrator of the nodes
   * ({@link #adminUser()}) declares its topology.
   */
  public void addPipeline(String prefix, List<String> sinks) {
    for (ServiceAccounts.Account a : ServiceAccounts.forTopology(new Names(prefix), sinks)) {
      if (!Files.exists(pki.clientCert(a.user()))) {
        pki.issueClient(a.user());
      }
    }
    // The same path as start() and any config with security:: the planner declares the pipeline's accounts.
    IotpipeConfig cfg = IotpipeConfig.parse("secure-local-stack", configYaml(prefix, admin, 1, null), env(admin));
    TopologyPlanner planner = new TopologyPlanner();
    planner.apply(cfg, planner.planAccounts(cfg));
  }

  /** The management URIs with their CA, e.g. for reports. */
  public Map<String, URI> managementUris() {
    return Map.of("edge", nodes.edge().managementUri(), "cloud", nodes.cloud().managementUri());
  }

  @Override
  public void close() {
    nodes.close();
  }

}
