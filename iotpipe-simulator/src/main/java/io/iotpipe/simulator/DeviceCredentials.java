package io.iotpipe.simulator;

import java.nio.file.Path;

/**
 * Where each simulated device finds its own certificate and key: {@code <clientsDir>/<deviceId>.crt|.key} (the
 * layout {@code iotpipe device enroll} writes under the PKI directory), trusting only {@code caFile}.
 */
public record DeviceCredentials(Path caFile, Path clientsDir) {

  public Path cert(String deviceId) {
    return clientsDir.resolve(deviceId + ".crt");
  }

  public Path key(String deviceId) {
    return clientsDir.resolve(deviceId + ".key");
  }
}
