package io.iotpipe.lake;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.rest.auth.AuthProperties;
import org.apache.iceberg.rest.auth.OAuth2Properties;

/**
 * Where the table lives: a warehouse on S3-compatible storage and a catalog that makes commits atomic across writers.
 *
 * <ul>
 *   <li>{@code jdbc:sqlite:/path/catalog.db}: one machine, no server (WAL journal, so concurrent writers wait instead
 *       of failing with {@code SQLITE_BUSY}; never {@code :memory:} with a pool, apache/iceberg#13366);</li>
 *   <li>{@code jdbc:postgresql://host/db}: several machines; the swap is a compare-and-set {@code UPDATE};</li>
 *   <li>{@code http(s)://…}: a REST catalog the user runs (Nessie, Polaris, Gravitino, a cloud service).</li>
 * </ul>
 * Never a Hadoop catalog on S3: it relies on an atomic rename S3 does not have (apache/iceberg#3546).
 *
 * @param catalogUri    JDBC URL or REST catalog URL
 * @param catalogUser   database user (null: none, or in the URL); for a REST catalog the OAuth2 client id
 * @param catalogPass   database password (null: none); for a REST catalog the OAuth2 client secret, or without a
 *                      user a bearer token
 * @param warehouse     {@code s3://bucket/prefix}, or a local directory ({@code file:/path}) for one machine
 * @param s3Endpoint    S3 API endpoint (null: AWS itself, by region)
 * @param pathStyle     path-style addressing (MinIO, Ceph RGW, s3proxy)
 * @param region        signing region
 * @param accessKey     static credentials (null: the AWS default chain: environment, profile, instance role)
 * @param secretKey     static credentials
 * @param s3CaFile      PEM file of the CA that signed an {@code https} endpoint's certificate (null: the JDK's CAs)
 */
public record LakeCatalog(String catalogUri, String catalogUser, String catalogPass, String warehouse, String s3Endpoint,
                          boolean pathStyle, String region, String accessKey, String secretKey, String s3CaFile) {

  public static final String NAME = "iotpipe";

  /** An object store whose certificate the JDK's CAs vouch for (or plain HTTP). */
  public LakeCatalog(String catalogUri, String catalogUser, String catalogPass, String warehouse, String s3Endpoint,
                     boolean pathStyle, String region, String accessKey, String secretKey) {
    this(catalogUri, catalogUser, catalogPass, warehouse, s3Endpoint, pathStyle, region, accessKey, secretKey, null);
  }

  /** The catalog properties Iceberg reads (also what a data scientist's Spark or pyiceberg needs, minus secrets). */
  public Map<String, String> properties() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put(CatalogProperties.URI, catalogUri);
    p.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse);
    p.put(CatalogProperties.FILE_IO_IMPL, isLocal() ? LocalFileIO.class.getName() : "org.apache.iceberg.aws.s3.S3FileIO");
    if (catalogUri.startsWith("jdbc:")) {
      if (catalogUser != null) {
        p.put("jdbc.user", catalogUser);
      }
      if (catalogPass != null) {
        p.put("jdbc.password", catalogPass);
      }
      if (catalogUri.startsWith("jdbc:sqlite:")) {
        p.put("jdbc.journal_mode", "WAL");
        // A writer waits this long for another's transaction instead of failing at once.
        p.put("jdbc.busy_timeout", "30000");
      }
      // The catalog tables carry the v1 schema plus view support; created on first use.
      p.put("jdbc.schema-version", "V1");
    } else if (catalogPass != null) {
      // A REST catalog authenticates a client, not a database user: username and password are OAuth2 client
      // credentials (exchanged at the catalog's token endpoint), a password alone is a bearer token.
      p.put(AuthProperties.AUTH_TYPE, AuthProperties.AUTH_TYPE_OAUTH2); // said, not inferred with a warning each start
      if (catalogUser != null) {
        p.put(OAuth2Properties.CREDENTIAL, catalogUser + ":" + catalogPass);
      } else {
        p.put(OAuth2Properties.TOKEN, catalogPass);
      }
    }
    if (s3Endpoint != null) {
      p.put("s3.endpoint", s3Endpoint);
    }
    p.put("s3.path-style-access", String.valueOf(pathStyle));
    p.put("client.region", region == null ? "us-east-1" : region);
    if (accessKey != null) {
      p.put("s3.access-key-id", accessKey);
      p.put("s3.secret-access-key", secretKey);
    }
    if (s3CaFile != null) {
      p.put("s3.client-factory-impl", PrivateCaS3Clients.class.getName());
      p.put(PrivateCaS3Clients.CA_FILE, s3CaFile);
    }
    return p;
  }

  /** Whether the warehouse is a directory on this machine ({@code file:/…} or an absolute path) rather than S3. */
  public boolean isLocal() {
    return !warehouse.startsWith("s3://") && !warehouse.startsWith("s3a://");
  }

  /** Where the table lives, for logs and reports: never the password or the keys (a record would print them). */
  @Override
  public String toString() {
    return "catalog " + catalogUri + ", warehouse " + warehouse + (s3Endpoint == null ? " (AWS S3, " + region + ")" : " at " + s3Endpoint);
  }

  /**
   * What a failure against the object store means for an operator, when the exception's own text does not say it: an
   * untrusted certificate names the setting that fixes it.
   */
  public static String explain(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLHandshakeException || t instanceof java.security.cert.CertPathValidatorException) {
        return "the S3 endpoint's TLS certificate is not trusted (" + t.getMessage() + "): set lake.s3.caFile to the PEM "
            + "file of the CA that signed it";
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof software.amazon.awssdk.services.s3.model.S3Exception s3 && (s3.statusCode() == 403 || s3.statusCode() == 401)) {
        String code = s3.awsErrorDetails() == null || s3.awsErrorDetails().errorCode() == null ? ""
            : ", " + s3.awsErrorDetails().errorCode();
        return "the object store refused the credentials (HTTP " + s3.statusCode() + code + "): check lake.s3.accessKey and lake.s3.secretKey (or the AWS credential chain) and the bucket's policy";
      }
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof software.amazon.awssdk.core.exception.AbortedException || t instanceof InterruptedException) {
        return "interrupted (the role is stopping): nothing to fix, the next start carries on";
      }
    }
    // some SDK exceptions carry no message of their own: the first cause that has one, else the type
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage();
      }
    }
    return e.getClass().getName();
  }

  /**
   * Opens the catalog (JDBC or REST, by the URI's scheme) after one request to the object store. Iceberg retries a
   * failed metadata read many times with backoff whatever the cause; a wrong key or an untrusted certificate
   * never heals by waiting, so the probe reports it at once, with the setting to fix.
   */
  public Catalog open() {
    probe();
    String impl = catalogUri.startsWith("jdbc:") ? "org.apache.iceberg.jdbc.JdbcCatalog" : "org.apache.iceberg.rest.RESTCatalog";
    return CatalogUtil.loadCatalog(impl, NAME, properties(), null);
  }

  /** One HEAD request under an S3 warehouse (absent is fine); throws with the reason when the store refuses or fails. */
  void probe() {
    if (isLocal()) {
      return; // a local directory: the first write names any problem itself
    }
    try (org.apache.iceberg.aws.s3.S3FileIO io = new org.apache.iceberg.aws.s3.S3FileIO()) {
      io.initialize(properties());
      io.newInputFile(warehouse.replaceAll("/+$", "") + "/.iotpipe-probe").exists();
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot reach the lake's object store (" + this + "): " + explain(e), e);
    }
  }
}
