package io.iotpipe.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.tls.PemTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PkiTest {

  @Test
  void initCreatesCaAndServerCertificateWithLocalNamesAndOwnerOnlyKeys(@TempDir Path dir) throws Exception {
    Pki pki = Pki.init(dir, "fleet");
    X509Certificate server = PemTls.certificates(pki.serverCert()).getFirst();
    X509Certificate ca = PemTls.certificates(pki.caCert()).getFirst();
    server.verify(ca.getPublicKey());
    assertThat(server.getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))).toList()).containsExactlyInAnyOrder("localhost", "127.0.0.1");
    assertThat(ca.getBasicConstraints()).isZero();
    for (Path key : List.of(dir.resolve("ca.key"), pki.serverKey())) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    }
    // A second init keeps the CA every device already trusts.
    byte[] before = Files.readAllBytes(pki.caCert());
    Pki.init(dir, "fleet");
    assertThat(Files.readAllBytes(pki.caCert())).isEqualTo(before);
  }

  @Test
  void clientCertificateCarriesTheDeviceIdAsCnAndCompletesAMutualTlsHandshake(@TempDir Path dir) throws Exception {
    Pki pki = Pki.init(dir, "fleet");
    Pki.Issued d = pki.issueClient("evc-000042");
    X509Certificate c = PemTls.certificates(d.cert()).getFirst();
    assertThat(c.getSubjectX500Principal().getName()).contains("CN=evc-000042");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d.key()))).isEqualTo("rw-------");

    SSLContext server = PemTls.context(pki.caCert(), pki.serverCert(), pki.serverKey());
    try (SSLServerSocket ss = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0)) {
      ss.setNeedClientAuth(true);
      Thread t = Thread.ofVirtual().start(() -> {
        try (SSLSocket s = (SSLSocket) ss.accept()) {
          s.startHandshake();
          s.getOutputStream().write(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName().getBytes());
        } catch (Exception ignored) {
          // the client side asserts
        }
      });
      try (SSLSocket s = (SSLSocket) pki.sslContext("evc-000042").getSocketFactory().createSocket("127.0.0.1", ss.getLocalPort())) {
        var p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // host name checked against the server's SAN
        s.setSSLParameters(p);
        s.startHandshake();
        assertThat(new String(s.getInputStream().readAllBytes())).contains("CN=evc-000042");
      }
      t.join();
    }
  }

  @Test
  void statusReportsExpiredAndExpiringCertificatesFirst(@TempDir Path dir) {
    Pki pki = Pki.init(dir, "fleet");
    Instant now = Instant.now();
    pki.issueClient("old", now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)));
    pki.issueClient("soon", now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(5)));
    pki.issueClient("fine");
    List<Pki.CertStatus> st = pki.status(now);
    assertThat(st).extracting(Pki.CertStatus::name).startsWith("old", "soon");
    assertThat(st.get(0).state()).isEqualTo(Pki.State.EXPIRED);
    assertThat(st.get(1).state()).isEqualTo(Pki.State.EXPIRING);
    assertThat(st).filteredOn(s -> s.name().equals("fine")).extracting(Pki.CertStatus::state).containsExactly(Pki.State.OK);
    assertThat(st).extracting(Pki.CertStatus::name).contains("fleet fleet CA", "server");
  }

  @Test
  void pkcs12HelperWritesAKeystoreJavaClientsCanLoad(@TempDir Path dir) throws Exception {
    Pki pki = Pki.init(dir, "fleet");
    pki.issueClient("svc");
    Path p12 = pki.pkcs12("svc", "changeit".toCharArray());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(p12)) {
      ks.load(in, "changeit".toCharArray());
    }
    assertThat(ks.isKeyEntry("key")).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p12))).isEqualTo("rw-------");
  }

  @Test
  void badNamesAreRefusedWithTheRule(@TempDir Path dir) {
    Pki pki = Pki.init(dir, "fleet");
    assertThatThrownBy(() -> pki.issueClient("../etc/passwd")).hasMessageContaining("not a valid device or account name");
    assertThatThrownBy(() -> Pki.open(dir.resolve("none"))).hasMessageContaining("iotpipe pki init");
  }

  @Test
  void issuingAThousandDeviceCertificatesIsFast(@TempDir Path dir) {
    Pki pki = Pki.init(dir, "fleet");
    Enrollment e = new Enrollment(pki, new io.iotpipe.core.config.Names("iotpipe"), "/");
    long t0 = System.nanoTime();
    e.issue(Enrollment.fleetIds("d", 1000), Enrollment.Credential.CERTIFICATE);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("FIGURE issue 1000 device certificates: " + ms + " ms");
    assertThat(ms).isLessThan(60_000);
  }
}
