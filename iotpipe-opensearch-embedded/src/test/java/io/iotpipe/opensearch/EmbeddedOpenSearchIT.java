package io.iotpipe.opensearch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedOpenSearchIT {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static int put(URI base, String index) throws Exception {
    var put = HttpRequest.newBuilder(base.resolve("/" + index + "/_doc/1?refresh=true"))
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"a\":1}")).build();
    return HTTP.send(put, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void startsIndexesSurvivesARestartOnTheSamePortAndLeavesNoProcess(@TempDir Path dir) throws Exception {
    String index = "probe-" + UUID.randomUUID();
    long pid;
    try (EmbeddedOpenSearch os = EmbeddedOpenSearch.start(dir)) {
      URI before = os.httpUri();
      assertThat(put(before, index)).isEqualTo(201);
      os.stop();
      assertThat(os.isRunning()).isFalse();
      os.restart();
      assertThat(os.httpUri()).isEqualTo(before);
      var get = HttpRequest.newBuilder(os.httpUri().resolve("/" + index + "/_doc/1")).build();
      assertThat(HTTP.send(get, HttpResponse.BodyHandlers.ofString()).body()).contains("\"found\":true");
      pid = os.pid();
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }

  @Test
  void mainRunsANodeAsItsOwnProcessAndStopsWhenStdinCloses(@TempDir Path dir) throws Exception {
    int port = EmbeddedOpenSearch.freePort();
    Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-cp", System.getProperty("java.class.path"), EmbeddedOpenSearch.class.getName(), dir.toString(), String.valueOf(port)))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String ready = out.lines().filter(l -> l.startsWith("READY ")).findFirst().orElseThrow();
      URI uri = URI.create(ready.substring("READY ".length()));
      assertThat(uri.getPort()).isEqualTo(port);
      assertThat(put(uri, "probe-" + UUID.randomUUID())).isEqualTo(201);
      p.getOutputStream().close(); // the parent goes away
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("node stops when stdin closes").isTrue();
    } finally {
      p.destroyForcibly();
    }
  }
}
