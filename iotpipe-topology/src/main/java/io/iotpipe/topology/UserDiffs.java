package io.iotpipe.topology;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.SecretFiles;
import io.iotpipe.core.config.SecurityConfig.ExistingUsers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Plan and apply for users and permissions. Passwords never appear in a plan: a stored hash is compared with the
 * declared password file ({@link RabbitPasswords#matches}), and only "matches" or "differs" is reported.
 *
 * <p>Semantics: a declared account that is missing is created; one that exists with other tags, password or
 * permissions (a broader grant included) is brought to the declaration ({@code existingUsers: update}) or reported as
 * a conflict that stops the whole apply ({@code refuse}). Users that are not declared (operators' own, devices) are
 * left alone, except {@code guest} when {@code removeGuest}. Only the broker's configured vhost is managed: grants on
 * other vhosts are not looked at. Topic permissions can only narrow what vhost permissions allow, so extra ones are
 * never broader than declared and are not reported.
 */
final class UserDiffs {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Enough drifted devices to see the pattern; the count says how many there are. */
  private static final int SHOWN = 5;

  private UserDiffs() {}

  static Change user(BrokerTopology t, TopologyPlanner.Accounts a, Declaration.User u, ExistingUsers existing) {
    JsonNode found = a.users().get(u.name());
    boolean hasFile = u.passwordFile() == null || Files.isRegularFile(u.passwordFile());
    if (found == null) {
      return new Change(Change.Action.CREATE, u, hasFile ? null : "a new random password is written to " + u.passwordFile() + " (0600)");
    }
    List<String> diffs = new ArrayList<>();
    Set<String> wantTags = tags(u.tags());
    Set<String> foundTags = TopologyPlanner.Accounts.tags(found);
    if (!wantTags.equals(foundTags)) {
      diffs.add("tags: wanted " + (wantTags.isEmpty() ? "none" : wantTags) + ", found " + (foundTags.isEmpty() ? "none" : foundTags));
    }
    if (!hasFile) {
      diffs.add("password: no file " + u.passwordFile() + " (apply writes a new random one and sets it)");
    } else if (!RabbitPasswords.matches(password(t.broker(), u), found.path("password_hash").asText(null),
        found.path("hashing_algorithm").asText(null))) {
      diffs.add("password: the broker's differs from " + (u.passwordFile() == null ? "the configured one" : u.passwordFile().toString())
          + " (a user imported from definitions without a hash has a random one): apply sets it");
    }
    return existingChange(u, diffs, existing);
  }

  static Change permission(TopologyPlanner.Accounts a, Declaration.Permission p, ExistingUsers existing) {
    JsonNode found = a.permissions().get(p.user());
    if (!a.users().containsKey(p.user())) {
      return new Change(Change.Action.CREATE, p, null);
    }
    if (found == null) {
      return existingChange(p, List.of("none on this vhost"), existing);
    }
    return existingChange(p, permissionDiffs(p.configure(), p.write(), p.read(), found), existing);
  }

  private static List<String> permissionDiffs(String configure, String write, String read, JsonNode found) {
    List<String> diffs = new ArrayList<>();
    for (String[] f : new String[][] {{"configure", configure}, {"write", write}, {"read", read}}) {
      String has = found.path(f[0]).asText();
      if (!f[1].equals(has)) {
        diffs.add(f[0] + ": wanted " + f[1] + ", found " + has);
      }
    }
    return diffs;
  }

  private static Change existingChange(Declaration d, List<String> diffs, ExistingUsers existing) {
    if (diffs.isEmpty()) {
      return new Change(Change.Action.UNCHANGED, d, null);
    }
    return new Change(existing == ExistingUsers.REFUSE ? Change.Action.CONFLICT : Change.Action.UPDATE, d, String.join("; ", diffs));
  }

  static Change devices(TopologyPlanner.Accounts a, Declaration.DevicePermissions dp, ExistingUsers existing) {
    List<String> devices = devices(a);
    Map<String, String> drift = drift(a, dp, devices);
    if (drift.isEmpty()) {
      return new Change(Change.Action.UNCHANGED, dp, devices.isEmpty() ? "no enrolled devices yet" : devices.size() + " enrolled devices match");
    }
    List<String> shown = drift.entrySet().stream().limit(SHOWN).map(e -> e.getKey() + " (" + e.getValue() + ")").toList();
    return new Change(existing == ExistingUsers.REFUSE ? Change.Action.CONFLICT : Change.Action.UPDATE, dp,
        drift.size() + " of " + devices.size() + " devices differ: " + String.join("; ", shown)
            + (drift.size() > SHOWN ? "; ..." : ""));
  }

  private static List<String> devices(TopologyPlanner.Accounts a) {
    return a.users().entrySet().stream().filter(e -> TopologyPlanner.Accounts.tags(e.getValue()).contains(ServiceAccounts.DEVICE_TAG))
        .map(Map.Entry::getKey).sorted().toList();
  }

  /** Device -> what differs from the template, in name order. */
  private static Map<String, String> drift(TopologyPlanner.Accounts a, Declaration.DevicePermissions dp, List<String> devices) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String d : devices) {
      List<String> diffs = new ArrayList<>();
      JsonNode p = a.permissions().get(d);
      if (p == null) {
        diffs.add("no permissions");
      } else {
        diffs.addAll(permissionDiffs(dp.configure(), dp.write(), dp.read(), p));
      }
      Map<String, JsonNode> topics = a.topics().getOrDefault(d, Map.of());
      dp.topics().forEach((x, wr) -> {
        JsonNode tp = topics.get(x);
        if (tp == null) {
          diffs.add("no topic permission on " + x);
        } else if (!wr.get(0).equals(tp.path("write").asText()) || !wr.get(1).equals(tp.path("read").asText())) {
          diffs.add("topic " + x + ": wanted write " + wr.get(0) + " read " + wr.get(1) + ", found write "
              + tp.path("write").asText() + " read " + tp.path("read").asText());
        }
      });
      if (!diffs.isEmpty()) {
        out.put(d, String.join(", ", diffs));
      }
    }
    return out;
  }

  static Change absent(BrokerTopology t, TopologyPlanner.Accounts a, Declaration.UserAbsent u) {
    if (!a.users().containsKey(u.name())) {
      return new Change(Change.Action.UNCHANGED, u, null);
    }
    if (u.name().equals(t.broker().username())) {
      return new Change(Change.Action.CONFLICT, u, "iotpipe logs in to this broker as " + u.name()
          + ": log in as the administrator account (brokers." + t.broker().name() + ".username) before removing it");
    }
    return new Change(Change.Action.DELETE, u, "its open connections are closed too");
  }

  // --- apply ---

  static void declareUser(ManagementClient mc, Declaration.User u) {
    if (u.passwordFile() != null && !Files.isRegularFile(u.passwordFile())) {
      SecretFiles.write(u.passwordFile(), SecretFiles.newPassword().getBytes(StandardCharsets.UTF_8));
    }
    mc.put("users/" + ManagementClient.enc(u.name()), Map.of("password_hash", RabbitPasswords.hash(password(mc.broker(), u)),
        "hashing_algorithm", RabbitPasswords.SHA256, "tags", u.tags()));
  }

  /** Re-reads the devices and sets the template on each that drifted, in one definitions import. */
  static void repairDevices(ManagementClient mc, Declaration.DevicePermissions dp) {
    TopologyPlanner.Accounts a = TopologyPlanner.Accounts.read(mc);
    Map<String, String> drift = drift(a, dp, devices(a));
    if (drift.isEmpty()) {
      return;
    }
    ObjectNode defs = JSON.createObjectNode();
    ArrayNode perms = defs.putArray("permissions");
    ArrayNode topics = defs.putArray("topic_permissions");
    for (String d : drift.keySet()) {
      perms.addObject().put("user", d).put("vhost", dp.vhost()).put("configure", dp.configure()).put("write", dp.write())
          .put("read", dp.read());
      dp.topics().forEach((x, wr) -> topics.addObject().put("user", d).put("vhost", dp.vhost()).put("exchange", x)
          .put("write", wr.get(0)).put("read", wr.get(1)));
    }
    mc.post("definitions", defs);
  }

  /** Deletes a user and closes any connection still listed for it (as device revocation does). */
  static void deleteUser(ManagementClient mc, String user) {
    mc.delete("users/" + ManagementClient.enc(user));
    JsonNode conns = mc.get("connections?columns=name,user");
    for (JsonNode c : conns == null ? JSON.createArrayNode() : conns) {
      if (user.equals(c.path("user").asText())) {
        mc.delete("connections/" + ManagementClient.enc(c.path("name").asText()));
      }
    }
  }

  private static String password(io.iotpipe.core.config.BrokerConfig b, Declaration.User u) {
    if (u.passwordFile() == null) {
      return b.password().reveal() == null ? "" : b.password().reveal();
    }
    return SecretFiles.read(u.passwordFile());
  }

  private static Set<String> tags(String tags) {
    Set<String> out = new TreeSet<>();
    for (String x : tags.split(",")) {
      if (!x.isBlank()) {
        out.add(x.strip());
      }
    }
    return out;
  }
}
