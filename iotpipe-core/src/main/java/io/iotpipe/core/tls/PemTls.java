package io.iotpipe.core.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS contexts for Java clients from the PEM files RabbitMQ itself uses ({@code cacertfile}, {@code certfile},
 * {@code keyfile}), so one set of files and one URI syntax serve the broker, the shovel and our clients.
 *
 * <p>Hand-written because the JDK reads PEM certificates but not PEM keys (its PEM decoder is a preview API after our
 * Java 21 level), and pulling BouncyCastle into every client module for 20 lines of base64 is not worth it. Keys
 * must be unencrypted PKCS#8 ({@code BEGIN PRIVATE KEY}), which is what {@code iotpipe pki} writes.
 */
public final class PemTls {

  private static final Pattern PKCS8 = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private PemTls() {}

  /**
   * A client (or server) context that trusts only the certificates in {@code caFile} and, when {@code certFile} is
   * not null, presents that certificate with {@code keyFile}. Hostname verification is the caller's job (the
   * RabbitMQ client does it with {@code enableHostnameVerification()}, HttpClient does it by default).
   */
  public static SSLContext context(Path caFile, Path certFile, Path keyFile) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (X509Certificate c : certificates(caFile)) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyManagerFactory kmf = null;
      if (certFile != null) {
        char[] none = new char[0];
        KeyStore keys = keyStore(certFile, keyFile, none);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, none);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      // The message names files only, never key material.
      throw new IllegalArgumentException("cannot build a TLS context from ca " + caFile + ", certificate " + certFile
          + ", key " + keyFile + ": " + e.getMessage() + " (create them with: iotpipe pki init / iotpipe device enroll)", e);
    }
  }

  /**
   * The TLS context described by a URI's query, in the parameters RabbitMQ's shovel reads from an {@code amqps} URI:
   * {@code cacertfile} (required), {@code certfile} and {@code keyfile} (a client certificate, optional). Returns
   * null when the URI names no {@code cacertfile}, so one URI configures the shovel and our Java clients alike.
   */
  public static SSLContext contextFromUri(java.net.URI uri) {
    java.util.Map<String, String> q = query(uri);
    if (!q.containsKey("cacertfile")) {
      return null;
    }
    String cert = q.get("certfile");
    String key = q.get("keyfile");
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException("URI " + withoutQuery(uri) + " names only one of certfile/keyfile: give both or neither");
    }
    return context(Path.of(q.get("cacertfile")), cert == null ? null : Path.of(cert), key == null ? null : Path.of(key));
  }

  /**
   * A URI query (the shovel's TLS syntax) with its {@code certfile}/{@code keyfile} pointing at {@code certAndKey},
   * other parameters unchanged: a service account presents its own client certificate, not the one of whoever wrote
   * the config's URIs.
   */
  public static String withClientCertificate(String rawQuery, Path[] certAndKey) {
    StringBuilder out = new StringBuilder();
    for (String part : rawQuery.split("&")) {
      String key = part.contains("=") ? part.substring(0, part.indexOf('=')) : part;
      String value = switch (key) {
        case "certfile" -> "certfile=" + java.net.URLEncoder.encode(certAndKey[0].toAbsolutePath().toString(), java.nio.charset.StandardCharsets.UTF_8);
        case "keyfile" -> "keyfile=" + java.net.URLEncoder.encode(certAndKey[1].toAbsolutePath().toString(), java.nio.charset.StandardCharsets.UTF_8);
        default -> part;
      };
      out.append(out.isEmpty() ? "" : "&").append(value);
    }
    return out.toString();
  }

  /** The decoded query parameters of {@code uri} (empty map without a query). */
  public static java.util.Map<String, String> query(java.net.URI uri) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String kv : raw.split("&")) {
      int i = kv.indexOf('=');
      String k = java.net.URLDecoder.decode(i < 0 ? kv : kv.substring(0, i), StandardCharsets.UTF_8);
      String v = i < 0 ? "" : java.net.URLDecoder.decode(kv.substring(i + 1), StandardCharsets.UTF_8);
      out.put(k, v);
    }
    return out;
  }

  public static java.net.URI withoutQuery(java.net.URI u) {
    String s = u.toString();
    int i = s.indexOf('?');
    return i < 0 ? u : java.net.URI.create(s.substring(0, i));
  }

  /** A keystore holding one private key entry ({@code alias} "key") with its certificate chain. */
  public static KeyStore keyStore(Path certFile, Path keyFile, char[] password) throws IOException, GeneralSecurityException {
    List<X509Certificate> chain = certificates(certFile);
    PrivateKey key = privateKey(keyFile, chain.getFirst().getPublicKey().getAlgorithm());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("key", key, password, chain.toArray(new Certificate[0]));
    return ks;
  }

  public static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> cs = CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)));
    if (cs.isEmpty()) {
      throw new GeneralSecurityException("no certificate in " + file);
    }
    return cs.stream().map(c -> (X509Certificate) c).toList();
  }

  /** The unencrypted PKCS#8 key in PEM file {@code file}; {@code algorithm} as its certificate's public key says (EC, RSA). */
  public static PrivateKey privateKey(Path file, String algorithm) throws IOException, GeneralSecurityException {
    Matcher m = PKCS8.matcher(Files.readString(file, StandardCharsets.US_ASCII));
    if (!m.find()) {
      throw new GeneralSecurityException(file + " holds no unencrypted PKCS#8 key (BEGIN PRIVATE KEY)");
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(1));
    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
  }
}
