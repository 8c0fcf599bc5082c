package io.iotpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.security.SecureLocalStack;
import io.iotpipe.topology.Change;
import io.iotpipe.topology.DefinitionsExport;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code topology export} → {@code rabbitmqctl import_definitions} on fresh secured nodes (only their bootstrap
 * administrator) → {@code topology plan} finds every object in place and lists only the secrets the export left out,
 * which {@code apply} then sets; after that the shovel runs as its own account and a plan has nothing to do.
 */
class DefinitionsExportIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dir;
  static SecureLocalStack stack;
  static IotpipeConfig cfg;

  @BeforeAll
  static void start() {
    stack = SecureLocalStack.startWithoutAccounts(dir, 1, "iotpipe", List.of("elk", "storage"));
    cfg = IotpipeConfig.parse("secure", stack.configYaml(stack.adminUser(), 2, null), stack.env(stack.adminUser()));
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  static Path export(DefinitionsExport.Tier tier) throws Exception {
    Path file = dir.resolve(tier.name().toLowerCase() + ".json");
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), DefinitionsExport.export(cfg, tier, null).definitions());
    return file;
  }

  static void importInto(LocalNode node, Path file) throws java.io.IOException {
    // rabbitmqctl of a RabbitMQ 4 root sees only the node's own directory (bind-mounted into the root): hand it there
    Path inNode = node.spec().dir().resolve(file.getFileName());
    java.nio.file.Files.copy(file, inNode, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    node.ctlOrFail("import_definitions", inNode.toString());
  }

  /** broker → the objects a plan would change, with what it says about each. */
  static Map<String, String> pending(Plan plan) {
    Map<String, String> out = new TreeMap<>();
    plan.byBroker().forEach((b, changes) -> changes.stream().filter(Change::pending)
        .forEach(c -> out.put(b + ": " + c.action().name().toLowerCase() + " " + c.declaration().key(), c.detail())));
    return out;
  }

  @Test
  void importedDefinitionsLeaveThePlanOnlyThePasswordsAndApplySetsThem() throws Exception {
    Path edgeFile = export(DefinitionsExport.Tier.EDGE);
    Path cloudFile = export(DefinitionsExport.Tier.CLOUD);
    // Nothing secret in what ops tooling gets: no password file's content, no private key.
    List<String> secrets = SecretScan.secretsUnder(stack.pki().dir());
    assertThat(secrets).isNotEmpty();
    assertThat(SecretScan.count(Files.readString(edgeFile) + Files.readString(cloudFile), secrets)).isZero();

    importInto(stack.nodes().edge(), edgeFile);
    importInto(stack.nodes().cloud().node(0), cloudFile);

    Plan plan = new TopologyPlanner().plan(cfg);
    // For the reader of the test log: what an operator sees after the import.
    System.out.println("plan after import_definitions:\n" + plan.render());
    assertThat(plan.count(Change.Action.CREATE)).as(plan.render()).isZero();
    assertThat(plan.conflicts()).as(plan.render()).isEmpty();
    assertThat(plan.count(Change.Action.DELETE)).as(plan.render()).isZero();
    // Every exchange, queue, binding, permission and the shovel (it logs in with its certificate) is in place; what
    // is left is exactly what the file could not carry: the service accounts' passwords, each said as such.
    Map<String, String> pending = pending(plan);
    assertThat(pending.keySet()).as(plan.render()).containsExactly(
        "cloud: update user iotpipe-elk", "cloud: update user iotpipe-shovel", "cloud: update user iotpipe-storage",
        "edge: update user iotpipe-elk", "edge: update user iotpipe-shovel", "edge: update user iotpipe-storage");
    pending.forEach((k, detail) -> assertThat(detail).as(k).startsWith("password: ").doesNotContain("tags"));
    assertThat(plan.count(Change.Action.UNCHANGED)).isGreaterThan(20);

    TopologyPlanner planner = new TopologyPlanner();
    assertThat(planner.apply(cfg, planner.plan(cfg))).isEqualTo(pending.size());
    Plan after = new TopologyPlanner().plan(cfg);
    assertThat(after.pending()).as(after.render()).isEmpty();
    // The imported shovel now logs in to the cloud as its least-privilege account and runs.
    assertThat(stack.shovelUsers(cfg)).containsExactly(Map.entry("iotpipe.edge-to-cloud", "iotpipe-shovel"));
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      JsonNode shovels = stack.edgeApi().require("GET", "shovels/%2F", null);
      assertThat(shovels).anySatisfy(s -> {
        assertThat(s.path("name").asText()).isEqualTo("iotpipe.edge-to-cloud");
        assertThat(s.path("state").asText()).isEqualTo("running");
      });
    });
  }
}
