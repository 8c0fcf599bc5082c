package io.iotpipe.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code iotpipe --version}: the version and the git commit the build came from, written into
 * {@code version.properties} at build time (buildnumber-maven-plugin, see {@code iotpipe-cli/pom.xml}). An operator reporting a problem can say
 * exactly which code runs; a build outside a git checkout says "commit unknown" rather than guessing.
 */
public final class VersionProvider implements IVersionProvider {

  static final String RESOURCE = "version.properties";

  @Override
  public String[] getVersion() {
    return lines(load());
  }

  static Properties load() {
    Properties p = new Properties();
    try (InputStream in = VersionProvider.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE + " from the iotpipe-cli jar (a damaged install?)", e);
    }
    return p;
  }

  static String[] lines(Properties p) {
    String version = p.getProperty("version", "unknown");
    String commit = p.getProperty("commit", "unknown");
    // "unknown": built outside a git checkout; "${...}": resources copied without the Maven build (an IDE).
    String commitLine = commit.matches("[0-9a-f]{7,64}")
        ? "commit " + commit
        : "commit unknown (built outside a git checkout)";
    return new String[] {
        "iotpipe " + version,
        commitLine,
        "java " + Runtime.version() + " (" + System.getProperty("java.vendor", "unknown vendor") + ", "
            + System.getProperty("java.home") + ")"};
  }
}
