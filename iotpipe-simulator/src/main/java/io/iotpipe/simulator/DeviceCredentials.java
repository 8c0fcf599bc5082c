package io.iotpipe.simulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where each simulated device finds its own certificate and key: {@code <clientsDir>/<deviceId>.crt|.key} (the
 * layout {@code iotpipe device enroll} writes under the PKI directory), trusting only {@code caFile}. With
 * {@code passwordsDir} set, devices enrolled with a password ({@code <passwordsDir>/<deviceId>.password}, no
 * certificate) log in with it over TLS instead.
 */
public record DeviceCredentials(Path caFile, Path clientsDir, Path passwordsDir) {

  public DeviceCredentials(Path caFile, Path clientsDir) {
    this(caFile, clientsDir, null);
  }

  public Path cert(String deviceId) {
    return clientsDir.resolve(deviceId + ".crt");
  }

  public Path key(String deviceId) {
    return clientsDir.resolve(deviceId + ".key");
  }

  /** The device's password when it was enrolled with one (and {@code passwordsDir} is set), else null. */
  public String password(String deviceId) {
    if (passwordsDir == null) {
      return null;
    }
    Path f = passwordsDir.resolve(deviceId + ".password");
    if (!Files.exists(f)) {
      return null;
    }
    try {
      return Files.readString(f, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the password file of device " + deviceId + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "DeviceCredentials[ca=" + caFile + " clients=" + clientsDir + (passwordsDir == null ? "" : " passwords=" + passwordsDir) + "]";
  }
}
