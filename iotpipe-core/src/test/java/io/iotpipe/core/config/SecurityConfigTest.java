package io.iotpipe.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SecurityConfigTest {

  private static final String BROKERS = """
      brokers:
        edge: {uris: [amqp://127.0.0.1:5672], management: http://127.0.0.1:15672, username: %s, password: "${PW}"}
        cloud: {uris: [amqp://127.0.0.1:5673], management: http://127.0.0.1:15673, username: %s, password: "${PW}"}
      topology: {edges: [edge], balancer: cloud}
      """;

  private static IotpipeConfig parse(String user, String security) {
    return IotpipeConfig.parse("t.yaml", BROKERS.formatted(user, user) + security, Map.of("PW", "pw")::get);
  }

  @Test
  void withoutTheSectionNothingAboutUsersIsDeclared() {
    IotpipeConfig c = parse("guest", "");
    assertThat(c.security().declared()).isFalse();
    assertThat(c.security().removeGuest()).isFalse();
  }

  @Test
  void anEmptySectionDeclaresTheAccountsWithSafeDefaults() {
    SecurityConfig s = parse("iotpipe-admin", "security: {}\n").security();
    assertThat(s.declared()).isTrue();
    assertThat(s.removeGuest()).isTrue();
    assertThat(s.devicePermissions()).isTrue();
    assertThat(s.existingUsers()).isEqualTo(SecurityConfig.ExistingUsers.UPDATE);
    assertThat(s.passwordFile("iotpipe-elk")).isEqualTo(Path.of("pki/passwords/iotpipe-elk.password"));
  }

  @Test
  void errorsNameTheirKeyPathAndTheFix() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse("guest",
        "security: {existingUsers: sometimes, removeGuest: true, pasword: x}\n"));
    assertThat(e.errors()).extracting(ConfigError::path)
        .contains("security.existingUsers", "security.removeGuest", "security.pasword");
    // Removing guest while iotpipe logs in as guest would lock every later run out: said per broker, with the way out.
    assertThat(e.getMessage()).contains("brokers.edge.username is guest").contains("removeGuest: false");
  }

  @Test
  void keepingGuestWhileLoggingInAsGuestIsAllowed() {
    SecurityConfig s = parse("guest", "security: {removeGuest: false, existingUsers: refuse}\n").security();
    assertThat(s.removeGuest()).isFalse();
    assertThat(s.existingUsers()).isEqualTo(SecurityConfig.ExistingUsers.REFUSE);
  }
}
