package io.iotpipe.security;

import io.iotpipe.core.tls.PemTls;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bouncycastle.util.io.pem.PemObject;
import io.iotpipe.core.config.SecretFiles;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The fleet's PKI in one directory: a CA, a server certificate for the local nodes (SAN {@code localhost} and
 * {@code 127.0.0.1}) and client certificates whose CN is the device id or service account name, which RabbitMQ turns
 * into the user name ({@code ssl_cert_login_from = common_name}).
 *
 * <p>Layout: {@code ca.crt ca.key server.crt server.key clients/<name>.crt clients/<name>.key}. Keys are EC P-256
 * (issuing 10,000 device keys takes seconds; RSA-2048 generation alone would take minutes), PKCS#8 PEM, mode 0600.
 * Certificates are public and written 0644. Nothing here prints key material.
 */
public final class Pki {

  /** Device ids and account names become file names and RabbitMQ user names: keep them to a safe alphabet. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration SERVER_VALIDITY = Duration.ofDays(825);
  public static final Duration CLIENT_VALIDITY = Duration.ofDays(365);
  /** A certificate closer than this to its end is reported as expiring. */
  public static final Duration EXPIRY_WARNING = Duration.ofDays(30);

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final JcaX509CertificateConverter CONVERTER = new JcaX509CertificateConverter();

  private final Path dir;
  private final X509Certificate caCert;
  private final PrivateKey caKey;
  /** Computed once: the same for every certificate this CA issues (a SHA-1 over the CA key per certificate otherwise). */
  private final org.bouncycastle.asn1.x509.AuthorityKeyIdentifier authorityKeyId;

  private Pki(Path dir, X509Certificate caCert, PrivateKey caKey) {
    this.dir = dir;
    this.caCert = caCert;
    this.caKey = caKey;
    try {
      this.authorityKeyId = new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(caCert);
    } catch (GeneralSecurityException e) {
      throw new SecurityException("cannot read the fleet CA's key identifier: " + e.getMessage(), e);
    }
  }

  /**
   * Creates the CA and the server certificate in {@code dir}, or opens them when they already exist (running it
   * twice must not silently replace a CA every device trusts). {@code fleet} names the CA (e.g. the topology prefix).
   */
  public static Pki init(Path dir, String fleet) {
    if (Files.exists(dir.resolve("ca.crt"))) {
      return open(dir);
    }
    try {
      KeyPair ca = newKeyPair();
      Instant now = Instant.now();
      X500Name caName = name(fleet + " fleet CA");
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caName, serial(), Date.from(now.minusSeconds(300)),
          Date.from(now.plus(CA_VALIDITY)), caName, ca.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(ca.getPublic()));
      X509Certificate caCert = CONVERTER.getCertificate(b.build(signer(ca.getPrivate())));
      SecretFiles.write(dir.resolve("ca.key"), pem(new JcaPKCS8Generator(ca.getPrivate(), null).generate()));
      SecretFiles.writePublic(dir.resolve("ca.crt"), pemString(caCert));
      Pki pki = new Pki(dir, caCert, ca.getPrivate());
      pki.issue("server", "server", now, now.plus(SERVER_VALIDITY), true);
      return pki;
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new SecurityException("cannot create the PKI in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Opens an existing PKI; fails naming the fix when there is none. */
  public static Pki open(Path dir) {
    Path crt = dir.resolve("ca.crt");
    if (!Files.exists(crt)) {
      throw new SecurityException("no fleet CA in " + dir.toAbsolutePath() + ": create one with: iotpipe pki init --dir " + dir);
    }
    try {
      X509Certificate ca = PemTls.certificates(crt).getFirst();
      KeyStore ks = PemTls.keyStore(crt, dir.resolve("ca.key"), new char[0]);
      return new Pki(dir, ca, (PrivateKey) ks.getKey("key", new char[0]));
    } catch (IOException | GeneralSecurityException e) {
      throw new SecurityException("cannot read the fleet CA in " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  public Path caCert() {
    return dir.resolve("ca.crt");
  }

  public Path serverCert() {
    return dir.resolve("server.crt");
  }

  public Path serverKey() {
    return dir.resolve("server.key");
  }

  /** Where client certificates and keys are ({@code <name>.crt}, {@code <name>.key}). */
  public Path clientsDir() {
    return dir.resolve("clients");
  }

  public Path clientCert(String name) {
    return dir.resolve("clients").resolve(name + ".crt");
  }

  public Path clientKey(String name) {
    return dir.resolve("clients").resolve(name + ".key");
  }

  /** Files of one issued certificate. */
  public record Issued(String name, Path cert, Path key, Instant notAfter) {}

  /** Issues (or re-issues) a client certificate with CN = {@code name}, valid for {@link #CLIENT_VALIDITY}. */
  public Issued issueClient(String name) {
    Instant now = Instant.now();
    return issueClient(name, now.minusSeconds(300), now.plus(CLIENT_VALIDITY));
  }

  /** As {@link #issueClient(String)} with explicit validity (tests use it for expired certificates). */
  public Issued issueClient(String name, Instant notBefore, Instant notAfter) {
    return issueClient(name, null, notBefore, notAfter);
  }

  /**
   * A device certificate that also names its tenant: SAN URI {@code urn:iotpipe:tenant:<id>} (a URI, not the
   * subject's O=, so the subject stays the broker's user name and a verifier reads one typed field); null: none.
   */
  public Issued issueClient(String name, String tenant) {
    Instant now = Instant.now();
    return issueClient(name, tenant, now.minusSeconds(300), now.plus(CLIENT_VALIDITY));
  }

  private Issued issueClient(String name, String tenant, Instant notBefore, Instant notAfter) {
    checkName(name);
    if (tenant != null) {
      io.iotpipe.core.tenant.TenantId.check(tenant);
    }
    try {
      return issue(name, "clients/" + name, notBefore, notAfter, false, tenant);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new SecurityException("cannot issue a certificate for " + name + ": " + e.getMessage(), e);
    }
  }

  public static void checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("\"" + name + "\" is not a valid device or account name: use 1-64 characters from "
          + "A-Z a-z 0-9 . _ - , starting with a letter or digit");
    }
  }

  /** The SAN URI a device certificate names its tenant with. */
  public static final String TENANT_URI_PREFIX = "urn:iotpipe:tenant:";

  /** The tenant a device certificate names (SAN URI {@value #TENANT_URI_PREFIX}<id>), or null. */
  public static String tenantOf(X509Certificate cert) {
    try {
      if (cert.getSubjectAlternativeNames() == null) {
        return null;
      }
      for (List<?> san : cert.getSubjectAlternativeNames()) {
        if (Integer.valueOf(GeneralName.uniformResourceIdentifier).equals(san.get(0))
            && san.get(1) instanceof String uri && uri.startsWith(TENANT_URI_PREFIX)) {
          return uri.substring(TENANT_URI_PREFIX.length());
        }
      }
      return null;
    } catch (java.security.cert.CertificateParsingException e) {
      throw new SecurityException("cannot read the subject alternative names of " + cert.getSubjectX500Principal() + ": " + e.getMessage(), e);
    }
  }

  /** The tenant in the certificate file {@code pem} (see {@link #tenantOf(X509Certificate)}). */
  public static String tenantOf(Path pem) {
    try (var in = Files.newInputStream(pem)) {
      return tenantOf((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    } catch (IOException | GeneralSecurityException e) {
      throw new SecurityException("cannot read the certificate " + pem + ": " + e.getMessage(), e);
    }
  }

  private Issued issue(String cn, String base, Instant notBefore, Instant notAfter, boolean server)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    return issue(cn, base, notBefore, notAfter, server, null);
  }

  private Issued issue(String cn, String base, Instant notBefore, Instant notAfter, boolean server, String tenant)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    KeyPair kp = newKeyPair();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(notBefore),
        Date.from(notAfter), name(cn), kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
    b.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId);
    if (server) {
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
          new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
    } else {
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      if (tenant != null) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
            new GeneralName(GeneralName.uniformResourceIdentifier, TENANT_URI_PREFIX + tenant)));
      }
    }
    X509CertificateHolder h = b.build(signer(caKey));
    Path crt = dir.resolve(base + ".crt");
    Path key = dir.resolve(base + ".key");
    // The holder is PEM-encoded as is (no round trip through a parsed X509Certificate); new files are written in
    // place with O_EXCL (0600 for the key), a re-issue replaces them atomically (SecretFiles.writeNew).
    SecretFiles.writeNew(key, pem(new PemObject("PRIVATE KEY", kp.getPrivate().getEncoded())));
    SecretFiles.writePublicNew(crt, pemString(new PemObject("CERTIFICATE", h.getEncoded())));
    return new Issued(cn, crt, key, notAfter);
  }

  /** A TLS context trusting this CA and presenting client {@code name}'s certificate (null: no client certificate). */
  public SSLContext sslContext(String name) {
    return name == null ? PemTls.context(caCert(), null, null) : PemTls.context(caCert(), clientCert(name), clientKey(name));
  }

  /**
   * Writes a PKCS#12 keystore with client {@code name}'s key and certificate (for Java clients configured through
   * {@code javax.net.ssl.keyStore}), mode 0600, and a truststore {@code ca.p12} holding the CA. The password protects
   * the file format only; the file mode is what keeps the key private.
   */
  public Path pkcs12(String name, char[] password) {
    try {
      KeyStore ks = PemTls.keyStore(clientCert(name), clientKey(name), password);
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      ks.store(out, password);
      Path p = dir.resolve("clients").resolve(name + ".p12");
      SecretFiles.write(p, out.toByteArray());
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", caCert);
      java.io.ByteArrayOutputStream t = new java.io.ByteArrayOutputStream();
      trust.store(t, password);
      SecretFiles.write(dir.resolve("ca.p12"), t.toByteArray());
      return p;
    } catch (IOException | GeneralSecurityException e) {
      throw new SecurityException("cannot write a keystore for " + name + ": " + e.getMessage(), e);
    }
  }

  /** Expiry state of one certificate. */
  public enum State { OK, EXPIRING, EXPIRED }

  /** One certificate of the PKI as {@code pki status} shows it. */
  public record CertStatus(String name, String file, Instant notAfter, long daysLeft, State state) {}

  /** Every certificate in the PKI with its expiry (CA, server, clients), soonest-expiring first. */
  public List<CertStatus> status(Instant now) {
    List<Path> files = new ArrayList<>(List.of(caCert(), serverCert()));
    Path clients = dir.resolve("clients");
    if (Files.isDirectory(clients)) {
      try (Stream<Path> s = Files.list(clients)) {
        s.filter(p -> p.toString().endsWith(".crt")).sorted().forEach(files::add);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    List<CertStatus> out = new ArrayList<>();
    for (Path f : files) {
      if (!Files.exists(f)) {
        continue;
      }
      try {
        X509Certificate c = PemTls.certificates(f).getFirst();
        Instant end = c.getNotAfter().toInstant();
        State st = end.isBefore(now) ? State.EXPIRED : end.isBefore(now.plus(EXPIRY_WARNING)) ? State.EXPIRING : State.OK;
        String cn = c.getSubjectX500Principal().getName().replaceFirst("^.*CN=([^,]+).*$", "$1");
        out.add(new CertStatus(cn, dir.relativize(f).toString(), end, Duration.between(now, end).toDays(), st));
      } catch (IOException | GeneralSecurityException e) {
        throw new SecurityException("cannot read certificate " + f + ": " + e.getMessage(), e);
      }
    }
    out.sort(java.util.Comparator.comparing(CertStatus::notAfter));
    return out;
  }

  private static X500Name name(String cn) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "iotpipe").addRDN(BCStyle.CN, cn).build();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static ContentSigner signer(PrivateKey key) throws OperatorCreationException {
    return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
  }

  private static byte[] pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      if (o instanceof PemObject po) {
        p.writeObject(po);
      } else {
        p.writeObject(o);
      }
    }
    return w.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  private static String pemString(Object o) throws IOException {
    return new String(pem(o), java.nio.charset.StandardCharsets.US_ASCII);
  }

  @Override
  public String toString() {
    return "Pki[" + dir + "]";
  }
}
