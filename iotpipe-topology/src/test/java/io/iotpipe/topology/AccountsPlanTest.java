package io.iotpipe.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SecurityConfig.ExistingUsers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plans of users and permissions against broker states given as the management API lists them. */
class AccountsPlanTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN_PW = "admin-Secret-1";
  private static final String ELK_PW = "elk-Secret-2";

  @TempDir
  Path dir;
  Path passwords;

  @BeforeEach
  void passwords() throws Exception {
    passwords = dir.resolve("passwords");
    Files.createDirectories(passwords);
    Files.writeString(passwords.resolve("iotpipe-elk.password"), ELK_PW);
  }

  IotpipeConfig config(String security) {
    return IotpipeConfig.parse("t.yaml", """
        brokers:
          edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672, username: iotpipe-admin, password: "${PW}"}
          cloud: {uris: [amqp://127.0.0.1:5673], management: http://127.0.0.1:15673, username: iotpipe-admin, password: "${PW}"}
        topology: {edges: [edge], balancer: cloud, partitions: 2, queueType: classic}
        """ + security.replace("PASSWORDS", passwords.toString()), Map.of("PW", ADMIN_PW)::get);
  }

  BrokerTopology cloud(IotpipeConfig cfg) {
    return TopologyCompiler.compile(cfg).stream().filter(t -> t.broker().name().equals("cloud")).findFirst().orElseThrow()
        .accountsOnly();
  }

  BrokerTopology edge(IotpipeConfig cfg) {
    return TopologyCompiler.compile(cfg).stream().filter(t -> t.broker().name().equals("edge")).findFirst().orElseThrow()
        .accountsOnly();
  }

  /** A broker's users and permissions, built like the management API lists them. */
  static final class Broker {
    final Map<String, JsonNode> users = new HashMap<>();
    final Map<String, JsonNode> perms = new HashMap<>();
    final Map<String, Map<String, JsonNode>> topics = new HashMap<>();

    Broker user(String name, String password, String... tags) {
      ObjectNode u = JSON.createObjectNode().put("name", name).put("password_hash", RabbitPasswords.hash(password))
          .put("hashing_algorithm", RabbitPasswords.SHA256);
      var t = u.putArray("tags");
      for (String x : tags) {
        t.add(x);
      }
      users.put(name, u);
      return this;
    }

    Broker perm(String user, String c, String w, String r) {
      perms.put(user, JSON.createObjectNode().put("user", user).put("vhost", "/").put("configure", c).put("write", w).put("read", r));
      return this;
    }

    Broker topic(String user, String exchange, String w, String r) {
      topics.computeIfAbsent(user, k -> new HashMap<>()).put(exchange,
          JSON.createObjectNode().put("user", user).put("exchange", exchange).put("write", w).put("read", r));
      return this;
    }

    TopologyPlanner.BrokerState state() {
      return new TopologyPlanner.BrokerState(Map.of(), Map.of(), new HashSet<>(), Map.of(), new TopologyPlanner.Accounts(users, perms, topics));
    }

    /** What the broker holds after apply sent the pending changes (the management API's semantics). */
    Broker applied(List<Change> changes, String adminPassword) {
      for (Change c : changes) {
        if (!c.pending()) {
          continue;
        }
        switch (c.declaration()) {
          case Declaration.User u -> user(u.name(), u.passwordFile() == null ? adminPassword : read(u.passwordFile()),
              u.tags().isEmpty() ? new String[0] : u.tags().split(","));
          case Declaration.Permission p -> perm(p.user(), p.configure(), p.write(), p.read());
          case Declaration.UserAbsent a -> users.remove(a.name());
          case Declaration.DevicePermissions dp -> users.values().stream()
              .filter(u -> TopologyPlanner.Accounts.tags(u).contains(ServiceAccounts.DEVICE_TAG)).map(u -> u.path("name").asText())
              .toList().forEach(d -> {
                perm(d, dp.configure(), dp.write(), dp.read());
                dp.topics().forEach((x, wr) -> topic(d, x, wr.get(0), wr.get(1)));
              });
          default -> throw new AssertionError(c);
        }
      }
      return this;
    }

    static String read(Path p) {
      try {
        return Files.readString(p, StandardCharsets.UTF_8).strip();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  /** A broker as RabbitMQ installs it, plus the administrator iotpipe logs in as. */
  static Broker fresh() {
    return new Broker().user("guest", "guest", "administrator").perm("guest", ".*", ".*", ".*")
        .user("iotpipe-admin", ADMIN_PW, "administrator").perm("iotpipe-admin", ".*", ".*", ".*");
  }

  static Plan plan(BrokerTopology t, Broker b, ExistingUsers existing) {
    Map<String, List<Change>> m = new LinkedHashMap<>();
    m.put(t.broker().name(), TopologyPlanner.diff(t, b.state(), existing));
    return new Plan(m);
  }

  @Test
  void aFreshBrokerGetsTheAccountsWithTheirPermissionsAndLosesGuest() {
    IotpipeConfig cfg = config("security: {passwords: PASSWORDS}\n");
    Plan p = plan(cloud(cfg), fresh(), ExistingUsers.UPDATE);
    String shown = p.render();
    assertThat(shown).contains(
        "= user iotpipe-admin (tags: administrator; password from the broker's configured password)",
        "+ user iotpipe-shovel (tags: none; password from " + passwords.resolve("iotpipe-shovel.password") + ")",
        "a new random password is written to " + passwords.resolve("iotpipe-storage.password"),
        "+ permissions iotpipe-shovel on vhost /: configure ^$ write ^iotpipe\\.(ingress|p\\d+)$ read ^$",
        "+ permissions iotpipe-elk on vhost /: configure ^$ write ^iotpipe\\.dlx$ read ^iotpipe\\.elk\\.p\\d+$",
        "+ permissions iotpipe-storage on vhost /: configure ^$ write ^iotpipe\\.dlx$ read ^iotpipe\\.storage\\.p\\d+$",
        "- user guest (must not exist)");
    assertThat(shown).doesNotContain(ADMIN_PW, ELK_PW);
    // The shovel's stored URI carries its account's password, so compiling the topology wrote that file (0600).
    assertThat(passwords.resolve("iotpipe-shovel.password")).isRegularFile();
    assertThat(p.count(Change.Action.DELETE)).isOne();
    assertThat(p.conflicts()).isEmpty();
  }

  @Test
  void theShovelLogsInAsTheShovelAccountWithItsOwnCertificateNeverAsTheAdministrator() throws Exception {
    IotpipeConfig plain = config("");
    Path clients = passwords.resolveSibling("clients");
    java.util.function.Supplier<IotpipeConfig> secured = () -> IotpipeConfig.parse("t.yaml", """
        brokers:
          edge: {uris: ["amqps://127.0.0.1:5671/%2F?cacertfile=/p/ca.crt&certfile=/p/clients/iotpipe-admin.crt&keyfile=/p/clients/iotpipe-admin.key&verify=verify_peer"],
                 management: http://127.0.0.1:15672, username: iotpipe-admin, password: "${PW}"}
          cloud: {uris: ["amqps://127.0.0.1:5681/%2F?cacertfile=/p/ca.crt&certfile=/p/clients/iotpipe-admin.crt&keyfile=/p/clients/iotpipe-admin.key&verify=verify_peer"],
                  management: http://127.0.0.1:15673, username: iotpipe-admin, password: "${PW}"}
        topology: {edges: [edge], balancer: cloud, partitions: 2, queueType: classic}
        security: {passwords: PASSWORDS, certificates: CLIENTS}
        """.replace("PASSWORDS", passwords.toString()).replace("CLIENTS", clients.toString()), Map.of("PW", ADMIN_PW)::get);
    // A URI that asks for a client certificate while the shovel account has none: a clear error, not a shovel stuck
    // in "starting" on the broker.
    assertThatThrownBy(() -> shovelUri(secured.get())).isInstanceOf(TopologyException.class)
        .hasMessageContaining("security.certificates: no client certificate and key for the shovel account at "
            + clients.resolve("iotpipe-shovel.crt").toAbsolutePath());
    Files.createDirectories(clients);
    Files.writeString(clients.resolve("iotpipe-shovel.crt"), "cert");
    Files.writeString(clients.resolve("iotpipe-shovel.key"), "key");
    String plainUri = shovelUri(plain);
    assertThat(plainUri).startsWith("amqp://iotpipe-admin:");
    String uri = shovelUri(secured.get());
    String shovelPassword = io.iotpipe.core.config.SecretFiles.read(passwords.resolve("iotpipe-shovel.password"));
    // The certificate is the login (its CN names the account): no password stored with the shovel, none to leak.
    assertThat(uri).startsWith("amqps://127.0.0.1:5681/%2F?")
        .contains("cacertfile=/p/ca.crt", "certfile=" + java.net.URLEncoder.encode(clients.resolve("iotpipe-shovel.crt").toAbsolutePath().toString(), StandardCharsets.UTF_8),
            "keyfile=" + java.net.URLEncoder.encode(clients.resolve("iotpipe-shovel.key").toAbsolutePath().toString(), StandardCharsets.UTF_8),
            "verify=verify_peer")
        .endsWith("&auth_mechanism=external")
        .doesNotContain("iotpipe-admin", ADMIN_PW, "@", java.net.URLEncoder.encode(shovelPassword, StandardCharsets.UTF_8));
    // compiling again reads the same password: the declaration is stable, so a second apply changes nothing
    assertThat(shovelUri(secured.get())).isEqualTo(uri);
  }

  static String shovelUri(IotpipeConfig cfg) {
    Declaration.Shovel shovel = (Declaration.Shovel) TopologyCompiler.compile(cfg).stream().filter(t -> t.broker().name().equals("edge"))
        .findFirst().orElseThrow().declarations().stream().filter(d -> d instanceof Declaration.Shovel).findFirst().orElseThrow();
    return String.valueOf(((List<?>) shovel.value().get("dest-uri")).get(0));
  }

  @Test
  void applyingThePlanLeavesNothingToDo() {
    IotpipeConfig cfg = config("security: {passwords: PASSWORDS}\n");
    for (BrokerTopology t : List.of(cloud(cfg), edge(cfg))) {
      Broker b = fresh().user("dev-1", "", ServiceAccounts.DEVICE_TAG).perm("dev-1", ".*", ".*", ".*");
      Plan first = plan(t, b, ExistingUsers.UPDATE);
      assertThat(first.pending()).isNotEmpty();
      // apply writes the missing password files before it sends the users
      for (Change c : first.pending()) {
        if (c.declaration() instanceof Declaration.User u && u.passwordFile() != null && !Files.exists(u.passwordFile())) {
          io.iotpipe.core.config.SecretFiles.write(u.passwordFile(), "pw-of-".concat(u.name()).getBytes(StandardCharsets.UTF_8));
        }
      }
      Plan second = plan(t, b.applied(first.all(), ADMIN_PW), ExistingUsers.UPDATE);
      assertThat(second.pending()).as(second.render()).isEmpty();
      assertThat(second.all()).allMatch(c -> c.action() == Change.Action.UNCHANGED);
    }
  }

  @Test
  void anExistingAccountWithBroaderGrantsIsNarrowedOrRefused() {
    Broker b = fresh().user("iotpipe-elk", ELK_PW).perm("iotpipe-elk", ".*", ".*", ".*");
    IotpipeConfig cfg = config("security: {passwords: PASSWORDS}\n");
    Change elk = change(plan(cloud(cfg), b, ExistingUsers.UPDATE), "permissions iotpipe-elk on vhost /");
    assertThat(elk.action()).isEqualTo(Change.Action.UPDATE);
    assertThat(elk.detail()).isEqualTo("configure: wanted ^$, found .*; write: wanted ^iotpipe\\.dlx$, found .*; "
        + "read: wanted ^iotpipe\\.elk\\.p\\d+$, found .*");
    assertThat(change(plan(cloud(cfg), b, ExistingUsers.UPDATE), "user iotpipe-elk").action()).isEqualTo(Change.Action.UNCHANGED);

    IotpipeConfig refuse = config("security: {passwords: PASSWORDS, existingUsers: refuse}\n");
    Plan p = plan(cloud(refuse), b, ExistingUsers.REFUSE);
    assertThat(change(p, "permissions iotpipe-elk on vhost /").action()).isEqualTo(Change.Action.CONFLICT);
    // Accounts that do not exist yet are still created: refuse protects existing users only.
    assertThat(change(p, "user iotpipe-shovel").action()).isEqualTo(Change.Action.CREATE);
    assertThatThrownBy(() -> new TopologyPlanner(t -> { throw new AssertionError("nothing may be sent"); }).apply(refuse, p))
        .hasMessageContaining("nothing was declared").hasMessageContaining("permissions iotpipe-elk on vhost /")
        .hasMessageContaining("security.existingUsers is refuse");
  }

  @Test
  void passwordsAreComparedByHashAndNeverShown() {
    IotpipeConfig cfg = config("security: {passwords: PASSWORDS}\n");
    Broker b = fresh().user("iotpipe-elk", "an-old-password", "management").perm("iotpipe-elk", "^$", "^iotpipe\\.dlx$", "^iotpipe\\.elk\\.p\\d+$");
    Change elk = change(plan(cloud(cfg), b, ExistingUsers.UPDATE), "user iotpipe-elk");
    assertThat(elk.action()).isEqualTo(Change.Action.UPDATE);
    assertThat(elk.detail()).isEqualTo("tags: wanted none, found [management]; password: the broker's differs from "
        + passwords.resolve("iotpipe-elk.password") + " (a user imported from definitions without a hash has a random one): apply sets it");
    assertThat(plan(cloud(cfg), b, ExistingUsers.UPDATE).render() + plan(cloud(cfg), b, ExistingUsers.UPDATE).toJson())
        .doesNotContain("an-old-password", ELK_PW, ADMIN_PW);
  }

  @Test
  void devicesThatDriftedFromTheTemplateAreFoundByTheirTag() {
    IotpipeConfig cfg = config("security: {passwords: PASSWORDS}\n");
    Broker b = fresh();
    for (String d : List.of("dev-1", "dev-2", "dev-3")) {
      b.user(d, "", ServiceAccounts.DEVICE_TAG).perm(d, "^$", "^(iotpipe\\.edge\\.ingress|amq\\.topic)$", "^$")
          .topic(d, "iotpipe.edge.ingress", "^telemetry\\.{username}$", "^$").topic(d, "amq.topic", "^telemetry\\.{username}$", "^$");
    }
    b.perm("dev-2", "^$", ".*", "^$");
    b.topics.get("dev-3").remove("amq.topic");
    b.user("operator", "x").perm("operator", ".*", ".*", ".*"); // not declared, not a device: left alone
    Plan p = plan(edge(cfg), b, ExistingUsers.UPDATE);
    Change dev = change(p, "device permissions on vhost /");
    assertThat(dev.action()).isEqualTo(Change.Action.UPDATE);
    assertThat(dev.detail()).isEqualTo("2 of 3 devices differ: dev-2 (write: wanted ^(iotpipe\\.edge\\.ingress|amq\\.topic)$, found .*); "
        + "dev-3 (no topic permission on amq.topic)");
    assertThat(p.all()).noneMatch(c -> c.declaration().key().contains("operator"));
    // The cloud has no device template: devices only ever connect to edges.
    assertThat(cloud(cfg).declarations()).noneMatch(d -> d instanceof Declaration.DevicePermissions);
  }

  @Test
  void aPlainConfigDeclaresNoUsers() {
    IotpipeConfig cfg = config("");
    assertThat(TopologyCompiler.compile(cfg)).allMatch(t -> !t.declaresUsers());
    assertThat(TopologyCompiler.compile(cfg)).flatExtracting(BrokerTopology::declarations)
        .noneMatch(d -> d instanceof Declaration.User || d instanceof Declaration.UserAbsent);
  }

  @Test
  void theBrokersOwnHashSchemeIsReproduced() {
    // The example of RabbitMQ's "Passwords" guide (salt 908DC60A, password test12).
    assertThat(RabbitPasswords.matches("test12", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", RabbitPasswords.SHA256)).isTrue();
    assertThat(RabbitPasswords.matches("test13", "kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR", RabbitPasswords.SHA256)).isFalse();
    String h = RabbitPasswords.hash("p");
    assertThat(RabbitPasswords.matches("p", h, null)).isTrue();
    assertThat(RabbitPasswords.matches("p", "", RabbitPasswords.SHA256)).isFalse();
  }

  static Change change(Plan p, String key) {
    return p.all().stream().filter(c -> c.declaration().key().equals(key)).findFirst().orElseThrow(() -> new AssertionError(key + " in\n" + p.render()));
  }
}
