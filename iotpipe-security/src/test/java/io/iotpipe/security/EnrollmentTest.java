package io.iotpipe.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.Names;
import io.iotpipe.topology.ServiceAccounts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnrollmentTest {

  static final Names N = new Names("iotpipe");

  /** What RabbitMQ does with a topic permission: expand {username}, then match the routing key. */
  static boolean topicAllowed(String regex, String user, String routingKey) {
    return Pattern.compile(regex.replace("{username}", user)).matcher(routingKey).find();
  }

  static boolean allowed(String regex, String resource) {
    return Pattern.compile(regex).matcher(resource).find();
  }

  @Test
  void aDeviceMayWriteOnlyItsOwnTelemetryAndConfigureAndReadNothing(@TempDir Path dir) {
    Enrollment e = new Enrollment(Pki.init(dir, "t"), N, "/");
    List<Enrollment.Enrolled> issued = e.issue(List.of("evc-1"), Enrollment.Credential.CERTIFICATE);
    ObjectNode defs = e.deviceDefinitions(issued);
    JsonNode perm = defs.get("permissions").get(0);
    assertThat(allowed(perm.get("write").asText(), "iotpipe.edge.ingress")).isTrue();
    assertThat(allowed(perm.get("write").asText(), "amq.topic")).isTrue();
    for (String other : List.of("iotpipe.edge.outbound", "amq.direct", "iotpipe.edge.ingressX", "xiotpipe.edge.ingress", "iotpipe-edge-ingress")) {
      assertThat(allowed(perm.get("write").asText(), other)).as(other).isFalse();
    }
    for (String any : List.of("iotpipe.edge.outbound", "amq.gen-123", "x")) {
      assertThat(allowed(perm.get("configure").asText(), any)).isFalse();
      assertThat(allowed(perm.get("read").asText(), any)).isFalse();
    }
    assertThat(defs.get("topic_permissions")).hasSize(2);
    for (JsonNode tp : defs.get("topic_permissions")) {
      String w = tp.get("write").asText();
      assertThat(topicAllowed(w, "evc-1", "telemetry.evc-1")).isTrue();
      for (String spoof : List.of("telemetry.evc-2", "telemetry.evc-1.x", "telemetry.evc-10", "x.telemetry.evc-1", "telemetry.#", "telemetry.*")) {
        assertThat(topicAllowed(w, "evc-1", spoof)).as(spoof).isFalse();
      }
    }
    // A certificate user has no password: the broker refuses password logins for it.
    assertThat(defs.get("users").get(0).get("password_hash").asText()).isEmpty();
  }

  @Test
  void passwordsAreStoredOwnerOnlyAndSentOnlyAsTheBrokersSaltedHash(@TempDir Path dir) throws Exception {
    Enrollment e = new Enrollment(Pki.init(dir, "t"), N, "/");
    Enrollment.Enrolled d = e.issue(List.of("evc-2"), Enrollment.Credential.PASSWORD).getFirst();
    String pw = d.password().reveal();
    assertThat(pw).hasSizeGreaterThanOrEqualTo(32);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.passwordFile()))).isEqualTo("rw-------");
    assertThat(d.password().toString()).doesNotContain(pw);
    ObjectNode defs = e.deviceDefinitions(List.of(d));
    assertThat(defs.toString()).doesNotContain(pw);
    byte[] stored = Base64.getDecoder().decode(defs.get("users").get(0).get("password_hash").asText());
    byte[] salt = Arrays.copyOf(stored, 4);
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update(salt);
    assertThat(Arrays.copyOfRange(stored, 4, stored.length)).isEqualTo(md.digest(pw.getBytes(StandardCharsets.UTF_8)));
    assertThat(defs.get("users").get(0).get("hashing_algorithm").asText()).isEqualTo("rabbit_password_hashing_sha256");
  }

  @Test
  void serviceAccountsGetTheNarrowestPatterns() {
    List<ServiceAccounts.Account> acc = ServiceAccounts.forTopology(N, List.of("elk", "storage"));
    ServiceAccounts.Account elk = acc.stream().filter(a -> a.user().equals("iotpipe-elk")).findFirst().orElseThrow();
    assertThat(allowed(elk.read(), "iotpipe.elk.p0")).isTrue();
    assertThat(allowed(elk.read(), "iotpipe.elk.p17")).isTrue();
    for (String q : List.of("iotpipe.storage.p0", "iotpipe.dlq.elk", "iotpipe.edge.outbound", "iotpipe.elk.p1x", "iotpipeXelk.p1")) {
      assertThat(allowed(elk.read(), q)).as(q).isFalse();
    }
    assertThat(allowed(elk.write(), "iotpipe.dlx")).isTrue();
    assertThat(allowed(elk.write(), "iotpipe.ingress")).isFalse();
    assertThat(allowed(elk.configure(), "iotpipe.elk.p0")).isFalse();
    ServiceAccounts.Account shovel = acc.stream().filter(a -> a.user().equals("iotpipe-shovel")).findFirst().orElseThrow();
    assertThat(allowed(shovel.write(), "iotpipe.ingress")).isTrue();
    assertThat(allowed(shovel.write(), "iotpipe.p3")).isTrue();
    assertThat(allowed(shovel.write(), "iotpipe.dlx")).isFalse();
    assertThat(allowed(shovel.read(), "iotpipe.elk.p0")).isFalse();
    assertThat(acc).extracting(ServiceAccounts.Account::user).doesNotContain("guest");
  }
}
