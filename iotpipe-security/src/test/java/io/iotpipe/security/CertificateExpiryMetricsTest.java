package io.iotpipe.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateExpiryMetricsTest {

  @Test
  void gaugesShowExpiredAndExpiringClientsAndTheServerCertificateLifetime(@TempDir Path dir) {
    Pki pki = Pki.init(dir, "t");
    Instant now = Instant.now();
    pki.issueClient("old", now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)));
    pki.issueClient("soon", now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(3)));
    pki.issueClient("fine");
    SimpleMeterRegistry r = new SimpleMeterRegistry();
    CertificateExpiryMetrics.bind(r, pki, Duration.ZERO);
    assertThat(r.get("iotpipe_pki_client_certificates").tag("state", "expired").gauge().value()).isEqualTo(1);
    assertThat(r.get("iotpipe_pki_client_certificates").tag("state", "expiring").gauge().value()).isEqualTo(1);
    assertThat(r.get("iotpipe_pki_client_certificates").tag("state", "ok").gauge().value()).isEqualTo(1);
    assertThat(r.get("iotpipe_pki_client_certificate_min_expiry_seconds").gauge().value()).isNegative();
    assertThat(r.get("iotpipe_pki_certificate_expiry_seconds").tag("cert", "server").gauge().value())
        .isBetween((double) Pki.SERVER_VALIDITY.minusDays(1).toSeconds(), (double) Pki.SERVER_VALIDITY.toSeconds());
  }
}
