package io.iotpipe.security;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Certificate expiry as metrics, for alerting before a fleet stops connecting:
 * <ul>
 *   <li>{@code iotpipe_pki_certificate_expiry_seconds{cert="ca"|"server"}}: seconds until the CA / server certificate
 *       expires (negative once expired);</li>
 *   <li>{@code iotpipe_pki_client_certificates{state="ok"|"expiring"|"expired"}}: device and service certificates by state
 *       ({@code expiring}: within {@link Pki#EXPIRY_WARNING});</li>
 *   <li>{@code iotpipe_pki_client_certificate_min_expiry_seconds}: the soonest client expiry.</li>
 * </ul>
 * One gauge per state, not per device: 10,000 devices must not become 10,000 time series. The directory is
 * re-read at most once per {@code refresh}, so a scrape never scans a large fleet twice in a row.
 */
public final class CertificateExpiryMetrics {

  private final Pki pki;
  private final Clock clock;
  private final Duration refresh;
  private List<Pki.CertStatus> snapshot = List.of();
  private Instant takenAt = Instant.MIN;

  private CertificateExpiryMetrics(Pki pki, Clock clock, Duration refresh) {
    this.pki = pki;
    this.clock = clock;
    this.refresh = refresh;
  }

  /** The gauges hold the returned instance strongly: a caller may drop it. */
  public static CertificateExpiryMetrics bind(MeterRegistry registry, Pki pki, Duration refresh) {
    CertificateExpiryMetrics m = new CertificateExpiryMetrics(pki, Clock.systemUTC(), refresh);
    for (String cert : List.of("ca", "server")) {
      String file = cert + ".crt";
      Gauge.builder("iotpipe_pki_certificate_expiry_seconds", m, x -> x.secondsLeft(file)).strongReference(true).tag("cert", cert)
          .description("Seconds until this certificate expires (negative: expired)").register(registry);
    }
    for (Pki.State s : Pki.State.values()) {
      Gauge.builder("iotpipe_pki_client_certificates", m, x -> x.count(s)).strongReference(true).tag("state", s.name().toLowerCase())
          .description("Device and service certificates by expiry state").register(registry);
    }
    Gauge.builder("iotpipe_pki_client_certificate_min_expiry_seconds", m, CertificateExpiryMetrics::minClientSecondsLeft).strongReference(true)
        .description("Seconds until the soonest client certificate expires").register(registry);
    return m;
  }

  private synchronized List<Pki.CertStatus> current() {
    Instant now = clock.instant();
    if (takenAt.plus(refresh).isBefore(now)) {
      snapshot = pki.status(now);
      takenAt = now;
    }
    return snapshot;
  }

  private double secondsLeft(String file) {
    return current().stream().filter(s -> s.file().equals(file)).findFirst()
        .map(s -> (double) Duration.between(clock.instant(), s.notAfter()).toSeconds()).orElse(Double.NaN);
  }

  private static boolean isClient(Pki.CertStatus s) {
    return s.file().startsWith("clients");
  }

  private double count(Pki.State state) {
    return current().stream().filter(CertificateExpiryMetrics::isClient).filter(s -> s.state() == state).count();
  }

  private double minClientSecondsLeft() {
    return current().stream().filter(CertificateExpiryMetrics::isClient)
        .mapToDouble(s -> Duration.between(clock.instant(), s.notAfter()).toSeconds()).min().orElse(Double.NaN);
  }
}
