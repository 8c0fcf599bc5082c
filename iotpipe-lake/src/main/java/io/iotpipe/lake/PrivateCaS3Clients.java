package io.iotpipe.lake;

import io.iotpipe.core.tls.PemTls;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Map;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.apache.iceberg.aws.AwsClientProperties;
import org.apache.iceberg.aws.s3.S3FileIOAwsClientFactory;
import org.apache.iceberg.aws.s3.S3FileIOProperties;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 client of Iceberg's {@code S3FileIO}, trusting only the CA in {@code lake.s3.caFile} (an object store with a
 * certificate from a private CA: MinIO, Ceph RGW, s3proxy on-premises). Hand-written because Iceberg's HTTP client
 * settings have no trust store, and a JVM-wide {@code javax.net.ssl.trustStore} would also change what the role's
 * other TLS connections trust. It applies Iceberg's own settings (region, endpoint, path style, credentials, signer,
 * retries) in the order Iceberg's default factory does, and replaces only the HTTP client.
 */
public final class PrivateCaS3Clients implements S3FileIOAwsClientFactory {

  /** Catalog property naming the PEM file (set by {@link LakeCatalog#properties()} from {@code lake.s3.caFile}). */
  public static final String CA_FILE = "iotpipe.s3.ca-file";

  private Map<String, String> properties;

  @Override
  public void initialize(Map<String, String> props) {
    this.properties = Map.copyOf(props);
  }

  @Override
  public S3Client s3() {
    S3FileIOProperties s3 = new S3FileIOProperties(properties);
    AwsClientProperties aws = new AwsClientProperties(properties);
    TrustManager[] trust = trustManagers(Path.of(properties.get(CA_FILE)));
    return S3Client.builder()
        .applyMutation(aws::applyClientRegionConfiguration)
        .applyMutation(aws::applyLegacyMd5Plugin)
        .httpClientBuilder(Apache5HttpClient.builder().tlsTrustManagersProvider(() -> trust))
        .applyMutation(s3::applyEndpointConfigurations)
        .applyMutation(s3::applyServiceConfigurations)
        .applyMutation(b -> s3.applyCredentialConfigurations(aws, b))
        .applyMutation(s3::applySignerConfiguration)
        .applyMutation(s3::applyS3AccessGrantsConfigurations)
        .applyMutation(s3::applyUserAgentConfigurations)
        .applyMutation(s3::applyRetryConfigurations)
        .build();
  }

  /** Iceberg asks for it only with its analytics accelerator or CRT reads, which the lake does not switch on. */
  @Override
  public S3AsyncClient s3Async() {
    throw new UnsupportedOperationException("asynchronous S3 reads are not used with lake.s3.caFile");
  }

  static TrustManager[] trustManagers(Path caFile) {
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (X509Certificate c : PemTls.certificates(caFile)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      return tmf.getTrustManagers();
    } catch (java.io.IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("lake.s3.caFile " + caFile + " cannot be read as PEM certificates: " + e.getMessage(), e);
    }
  }
}
