package io.iotpipe.tools.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The line of the console summary and the report that says which mode ran. */
class SecurityLineTest {

  static Map<String, Object> summary(boolean tls, boolean guest) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("mode", tls ? "secure" : "insecure");
    m.put("tls", tls);
    m.put("deviceCredential", tls ? "certificate" : "none");
    m.put("devicesEnrolled", tls ? 300L : 0L);
    m.put("accountsUsed", tls ? List.of("iotpipe-admin", "iotpipe-shovel", "iotpipe-elk", "iotpipe-storage") : List.of("guest"));
    m.put("guestPresent", guest);
    m.put("searchTls", false);
    return m;
  }

  @Test
  void secureModeSaysWhatSecuredIt() {
    assertThat(DemoCommand.securityLine(summary(true, false)))
        .startsWith("SECURE: TLS only")
        .contains("300 devices enrolled (certificate each, own connection)", "iotpipe-elk", "guest present false", "search engine over http");
  }

  @Test
  void insecureModeSaysSoPlainly() {
    assertThat(DemoCommand.securityLine(summary(false, true)))
        .startsWith("INSECURE (--insecure): plaintext")
        .contains("[guest]", "guest present true", "devices not authenticated");
  }
}
