package io.iotpipe.simulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where each simulated device finds its own credentials, trusting only {@code caFile}: by certificate,
 * {@code <clientsDir>/<deviceId>.crt|.key} (the layout {@code iotpipe device enroll} writes under the PKI directory);
 * or, for a device with {@code <passwordsDir>/<deviceId>.password} (mode 0600), by password over TLS, the user name
 * being the device id. Password-only fleets have no {@code clientsDir}.
 */
public record DeviceCredentials(Path caFile, Path clientsDir, Path passwordsDir) {

  /** Certificate devices. */
  public DeviceCredentials(Path caFile, Path clientsDir) {
    this(caFile, clientsDir, null);
  }

  /** Password devices (TLS still verifies the broker against {@code caFile}). */
  public static DeviceCredentials passwords(Path caFile, Path passwordsDir) {
    return new DeviceCredentials(caFile, null, passwordsDir);
  }

  public boolean usesPasswords() {
    return passwordsDir != null;
  }

  public Path cert(String deviceId) {
    return clientsDir.resolve(deviceId + ".crt");
  }

  public Path key(String deviceId) {
    return clientsDir.resolve(deviceId + ".key");
  }

  /**
   * The device's password (only to hand it to a client library; never print it), or null when it has none and logs in
   * with its certificate.
   */
  public String password(String deviceId) {
    if (passwordsDir == null) {
      return null;
    }
    Path f = passwordsDir.resolve(deviceId + ".password");
    if (!Files.exists(f) && clientsDir != null) {
      return null;
    }
    try {
      return Files.readString(f, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("no password for device " + deviceId + " in " + passwordsDir + ": enroll it first ("
          + "iotpipe device enroll --credentials password " + deviceId + ")", e);
    }
  }

  @Override
  public String toString() {
    return "DeviceCredentials[ca=" + caFile + " clients=" + clientsDir + (passwordsDir == null ? "" : " passwords=" + passwordsDir) + "]";
  }
}
