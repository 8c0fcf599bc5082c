package io.iotpipe.opensearch;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedOpenSearchIT {

  @Test
  void startsIndexesSurvivesARestartAndLeavesNoProcess(@TempDir Path dir) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    long pid;
    try (EmbeddedOpenSearch os = EmbeddedOpenSearch.start(dir)) {
      var put = HttpRequest.newBuilder(os.httpUri().resolve("/probe/_doc/1?refresh=true"))
          .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"a\":1}")).build();
      assertThat(http.send(put, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(201);
      os.stop();
      assertThat(os.isRunning()).isFalse();
      os.start();
      var get = HttpRequest.newBuilder(os.httpUri().resolve("/probe/_doc/1")).build();
      assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).body()).contains("\"found\":true");
      pid = os.pid();
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
  }
}
