package io.iotpipe.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.iotpipe.core.config.Names;
import io.iotpipe.core.tenant.TenantRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A device's tenant is in its certificate and in the registry the pipeline reads; both are written together. */
class TenantBindingTest {

  @TempDir
  Path dir;

  @Test
  void theCertificateNamesItsTenantAsASanUriAndKeepsTheDeviceAsItsSubject() throws Exception {
    Pki pki = Pki.init(dir.resolve("pki"), "t");
    Pki.Issued c = pki.issueClient("evc-1", "acme");
    assertThat(Pki.tenantOf(c.cert())).isEqualTo("acme");
    var x509 = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(java.nio.file.Files.newInputStream(c.cert()));
    assertThat(x509.getSubjectX500Principal().getName()).contains("CN=evc-1");
    assertThat(x509.getSubjectAlternativeNames()).containsExactly(List.of(6, "urn:iotpipe:tenant:acme"));
    assertThat(Pki.tenantOf(pki.issueClient("evc-2").cert())).as("without a tenant: none").isNull();
    assertThatThrownBy(() -> pki.issueClient("evc-3", "Acme")).hasMessageContaining("not a valid tenant id");
  }

  @Test
  void enrollmentWritesTheSameTenantIntoCertificatesAndRegistryAndFindsWhereTheyDisagree() {
    Pki pki = Pki.init(dir.resolve("pki"), "t");
    Enrollment e = new Enrollment(pki, new Names("iotpipe"), "/");
    TenantRegistry registry = new TenantRegistry(dir.resolve("tenants.tsv"));
    // what enroll does before the broker users exist (the import itself needs a broker: SecureBrokerIT)
    e.issue(List.of("evc-1", "evc-2"), Enrollment.Credential.CERTIFICATE, "acme", null);
    registry.assign(List.of("evc-1", "evc-2"), "acme");
    e.issue(List.of("evc-3"), Enrollment.Credential.CERTIFICATE, "globex", null);
    registry.assign(List.of("evc-3"), "globex");
    assertThat(e.tenantBindingProblems(registry)).isEmpty();
    registry.assign(List.of("evc-3"), "acme"); // the registry edited apart from the certificates
    registry.remove(List.of("evc-2"));
    assertThat(e.tenantBindingProblems(registry)).isEqualTo(Map.of(
        "evc-2", "certificate names tenant acme, the registry no tenant",
        "evc-3", "certificate names tenant globex, the registry tenant acme"));
  }

  @Test
  void aTenantWithoutARegistryIsRefusedBeforeAnythingIsIssued() {
    Enrollment e = new Enrollment(Pki.init(dir.resolve("pki"), "t"), new Names("iotpipe"), "/");
    assertThatThrownBy(() -> e.enroll(null, List.of("evc-1"), Enrollment.Credential.CERTIFICATE, "acme", null, null))
        .hasMessageContaining("--tenant needs tenants.registry");
    assertThat(dir.resolve("pki/clients/evc-1.crt")).doesNotExist();
  }
}
