package io.iotpipe.simulator;

import io.iotpipe.core.tls.PemTls;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * One device's private key and certificate, presented as its TLS client identity.
 *
 * <p>Hand-written (30 lines) because Vert.x's PEM options load every key through an in-memory PKCS#12 keystore whose
 * PBKDF2 key protection runs twice per device: measured, it was about 60 % of the simulator's CPU per TLS connection
 * (some 12 ms of 20). The keystore is never stored, so that protection protects nothing.
 */
final class DeviceKeyManager extends X509ExtendedKeyManager {

  private static final String ALIAS = "device";
  private final PrivateKey key;
  private final X509Certificate[] chain;

  DeviceKeyManager(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
    List<X509Certificate> certs = PemTls.certificates(certFile);
    this.chain = certs.toArray(new X509Certificate[0]);
    this.key = PemTls.privateKey(keyFile, chain[0].getPublicKey().getAlgorithm());
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return ALIAS;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return ALIAS;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return new String[] {ALIAS};
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return chain.clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return key;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return null;
  }
}
