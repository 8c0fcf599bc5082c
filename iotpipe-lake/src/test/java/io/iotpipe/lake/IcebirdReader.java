package io.iotpipe.lake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An independent reader of the lake table: icebird, a JavaScript Iceberg implementation (metadata, Avro manifests and
 * Parquet of its own, no code shared with the Java writer), run by the machine's Node.js over the S3 API. Its npm
 * packages are installed once into {@code target/icebird} from the committed lock file ({@code src/test/js}).
 */
final class IcebirdReader {

  private static final Path SOURCES = Path.of("src", "test", "js");
  private static final Path HOME = Path.of("target", "icebird");

  /** What icebird saw: rows, distinct and doubled {@code (device_id, seq)}, the schema's types, one {@code ts}. */
  record Result(int formatVersion, long rows, long distinctKeys, long duplicatedKeys,
                Map<String, String> columnTypes, String tsValue) {}

  private IcebirdReader() {}

  /** Reads the table whose current metadata file is {@code metadataLocation}, through the S3 API at {@code endpoint}. */
  static Result read(String endpoint, String region, String tableLocation, String metadataLocation, String accessKey,
                     String secretKey) throws IOException, InterruptedException {
    install();
    String metadataFile = metadataLocation.substring(metadataLocation.lastIndexOf('/') + 1);
    ProcessBuilder pb = new ProcessBuilder("node", "reader.mjs", endpoint, region, tableLocation, metadataFile)
        .directory(HOME.toFile()).redirectErrorStream(true);
    pb.environment().put("AWS_ACCESS_KEY_ID", accessKey);
    pb.environment().put("AWS_SECRET_ACCESS_KEY", secretKey);
    String out = run(pb, 120);
    String json = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
        .orElseThrow(() -> new IllegalStateException("icebird printed no result:\n" + out));
    JsonNode n = new ObjectMapper().readTree(json);
    Map<String, String> types = new java.util.LinkedHashMap<>();
    n.path("columnTypes").fields().forEachRemaining(e -> types.put(e.getKey(), e.getValue().asText()));
    return new Result(n.path("formatVersion").asInt(), n.path("rows").asLong(),
        n.path("distinctKeys").asLong(), n.path("duplicatedKeys").asLong(), types, n.path("tsValue").asText());
  }

  private static synchronized void install() throws IOException, InterruptedException {
    String version;
    try {
      version = run(new ProcessBuilder("node", "--version").redirectErrorStream(true), 30).strip();
    } catch (IOException e) {
      throw new IllegalStateException("the independent Iceberg reader (icebird) runs on Node.js >= 20, and `node` is not on"
          + " the PATH: install it (Debian: sudo apt-get install nodejs npm) and run the tests again", e);
    }
    if (!version.matches("v(2\\d|[3-9]\\d).*")) {
      throw new IllegalStateException("the independent Iceberg reader (icebird) needs Node.js >= 20, found " + version
          + ": install a newer one (Debian trixie's nodejs, or nodejs.org) and run the tests again");
    }
    Files.createDirectories(HOME);
    boolean changed = false;
    for (String f : List.of("package.json", "package-lock.json", "reader.mjs")) {
      Path to = HOME.resolve(f);
      byte[] source = Files.readAllBytes(SOURCES.resolve(f));
      if (!Files.exists(to) || !java.util.Arrays.equals(source, Files.readAllBytes(to))) {
        Files.copy(SOURCES.resolve(f), to, StandardCopyOption.REPLACE_EXISTING);
        changed = true;
      }
    }
    if (changed || !Files.isDirectory(HOME.resolve("node_modules").resolve("icebird"))) {
      try {
        run(new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error").directory(HOME.toFile())
            .redirectErrorStream(true), 300);
      } catch (IllegalStateException e) {
        throw new IllegalStateException("could not install icebird from the npm registry (is https://registry.npmjs.org"
            + " reachable, or an npm mirror configured with `npm config set registry`?): " + e.getMessage(), e);
      }
    }
  }

  private static String run(ProcessBuilder pb, int timeoutSeconds) throws IOException, InterruptedException {
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", pb.command()) + " did not finish within " + timeoutSeconds + " s");
    }
    String text = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", pb.command()) + " failed (exit " + p.exitValue() + "):\n" + text);
    }
    return text;
  }
}
