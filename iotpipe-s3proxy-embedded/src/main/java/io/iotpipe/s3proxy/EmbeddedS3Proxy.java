package io.iotpipe.s3proxy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real S3 API server (s3proxy 4.1.0, SigV4, objects as plain files under {@code dir/blobs/<bucket>/<key>}) in a child
 * JVM, for tests and the demo: its 55 MB of shaded jars stay out of the writer's process (they would clash with the
 * AWS SDK), and it can be stopped, restarted on the same port and data, or killed like a real object store.
 * Credentials are random per instance, so a client that forgot to sign is refused as it would be by AWS.
 */
public final class EmbeddedS3Proxy implements AutoCloseable {

  /** Where the server jar is, when neither the system property nor the caller says. */
  public static final String JAR_PROPERTY = "iotpipe.s3proxy.jar";

  private final Path jar;
  private final Path dir;
  private final int port;
  private final String accessKey;
  private final String secretKey;
  /** PKCS#12 key store with the server's certificate, or null for plain HTTP. */
  private final Path keyStore;
  private final String keyStorePassword;
  private Process process;

  private EmbeddedS3Proxy(Path jar, Path dir, int port, Path keyStore, String keyStorePassword) {
    this.jar = jar;
    this.dir = dir;
    this.port = port;
    this.keyStore = keyStore;
    this.keyStorePassword = keyStorePassword;
    this.accessKey = "iotpipe-" + random(6);
    this.secretKey = random(20);
  }

  /** Starts a server on a free port with its objects under {@code dir}; returns once it accepts connections. */
  public static EmbeddedS3Proxy start(Path dir) {
    return start(defaultJar(), dir);
  }

  public static EmbeddedS3Proxy start(Path jar, Path dir) {
    return start(jar, dir, null, null);
  }

  /**
   * A server that speaks only HTTPS, with the certificate and key in a PKCS#12 {@code keyStore} (an object store
   * behind a private CA, as on-premises MinIO or Ceph RGW are).
   */
  public static EmbeddedS3Proxy startTls(Path dir, Path keyStore, String keyStorePassword) {
    return start(defaultJar(), dir, keyStore, keyStorePassword);
  }

  private static EmbeddedS3Proxy start(Path jar, Path dir, Path keyStore, String keyStorePassword) {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("s3proxy jar not found at " + jar + " (set -D" + JAR_PROPERTY
          + "=…/s3proxy-4.1.0-jar-with-dependencies.jar; Maven copies it to target/s3proxy in the integration-test phase)");
    }
    EmbeddedS3Proxy s3 = new EmbeddedS3Proxy(jar, dir, freePort(), keyStore, keyStorePassword);
    s3.start();
    return s3;
  }

  /**
   * The jar from {@code -Diotpipe.s3proxy.jar}, else the one iotpipe-tools' build copies (when the launcher names the
   * project's home), else the one in the local Maven repository.
   */
  public static Path defaultJar() {
    String p = System.getProperty(JAR_PROPERTY);
    if (p != null && !p.isBlank()) {
      return Path.of(p);
    }
    String home = System.getProperty("iotpipe.home");
    if (home != null && Files.isRegularFile(Path.of(home, "iotpipe-tools", "target", "s3proxy", "s3proxy.jar"))) {
      return Path.of(home, "iotpipe-tools", "target", "s3proxy", "s3proxy.jar");
    }
    return Path.of(System.getProperty("user.home"), ".m2", "repository", "org", "gaul", "s3proxy", "4.1.0",
        "s3proxy-4.1.0-jar-with-dependencies.jar");
  }

  public URI endpoint() {
    return URI.create((keyStore == null ? "http" : "https") + "://127.0.0.1:" + port);
  }

  public String accessKey() {
    return accessKey;
  }

  public String secretKey() {
    return secretKey;
  }

  /** The directory holding the objects: {@code blobs/<bucket>/<key>} (for tests that inspect or damage them). */
  public Path blobs() {
    return dir.resolve("blobs");
  }

  /** Creates a bucket; with the file-system backend a bucket is a directory, so this works with the server up or down. */
  public void createBucket(String bucket) {
    try {
      Files.createDirectories(blobs().resolve(bucket));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  public long pid() {
    return isRunning() ? process.pid() : -1;
  }

  /** (Re)starts the server with the same port, credentials and objects. */
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    try {
      Files.createDirectories(blobs());
      Path props = dir.resolve("s3proxy.properties");
      // It holds the secret key: readable by its owner only, like any credential file.
      if (!Files.exists(props)) {
        Files.createFile(props, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      }
      List<String> listener = keyStore == null ? List.of("s3proxy.endpoint=" + endpoint())
          : List.of("s3proxy.secure-endpoint=" + endpoint(), "s3proxy.keystore-path=" + keyStore,
              "s3proxy.keystore-password=" + keyStorePassword);
      List<String> lines = new java.util.ArrayList<>(listener);
      lines.addAll(List.of(
          "s3proxy.authorization=aws-v2-or-v4",
          "s3proxy.identity=" + accessKey,
          "s3proxy.credential=" + secretKey,
          "jclouds.provider=filesystem-nio2",
          "jclouds.filesystem.basedir=" + blobs()));
      Files.write(props, lines);
      Path log = dir.resolve("s3proxy.log");
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "--properties", props.toString());
      process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException("s3proxy exited with code " + process.exitValue() + " while starting; see " + log
              + ":\n" + tail(log));
        }
        if (accepts()) {
          return;
        }
        process.waitFor(100, TimeUnit.MILLISECONDS); // poll interval while the server boots
      }
      stop();
      throw new IllegalStateException("s3proxy did not accept connections within 60 s; see " + log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start s3proxy: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting s3proxy");
    }
  }

  private boolean accepts() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Stops the server (SIGTERM); an object store outage as the writer sees it. */
  public synchronized void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    stop();
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String random(int bytes) {
    byte[] b = new byte[bytes];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
