package io.iotpipe.slo.prom;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the Prometheus server and promtool of the Debian package {@code prometheus} are (or an override). */
public final class PrometheusBinaries {

  private PrometheusBinaries() {}

  public static Path promtool() {
    return find("IOTPIPE_PROMTOOL", "promtool");
  }

  public static Path prometheus() {
    return find("IOTPIPE_PROMETHEUS", "prometheus");
  }

  private static Path find(String envOverride, String name) {
    String override = System.getenv(envOverride);
    if (override != null && !override.isBlank()) {
      Path p = Path.of(override);
      if (Files.isExecutable(p)) {
        return p;
      }
      throw new IllegalStateException(envOverride + "=" + override + " is not an executable file");
    }
    Path usr = Path.of("/usr/bin", name);
    if (Files.isExecutable(usr)) {
      return usr;
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(java.io.File.pathSeparator)) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) {
          return p;
        }
      }
    }
    throw new IllegalStateException(name + " not found (looked at /usr/bin/" + name + " and PATH): install the Debian package"
        + " with `apt-get install -y prometheus` (it brings both prometheus and promtool), or set " + envOverride);
  }
}
