package io.iotpipe.tools;

import io.iotpipe.cli.Main;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench devices} end to end on a small fleet: real secured nodes, one certificate and TLS connection per device. */
class DevicesBenchIT {

  @Test
  void aSmallFleetConnectsPublishesIsMeasuredAndGrowsToItsMaximum(@TempDir Path dir) throws Exception {
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      exit = Main.run("bench", "devices", "--devices", "100", "--interval", "2", "--hold", "4", "--settle", "5",
          "--find-max", "--step-devices", "50", "--max-devices", "150", "--json", "--dir", dir.toString());
    } finally {
      System.setOut(stdout);
    }
    String json = captured.toString(StandardCharsets.UTF_8);
    stdout.println(json);
    assertThat(exit).isZero();
    JsonNode r = new ObjectMapper().readTree(json);
    JsonNode first = r.path("atDevices");
    assertThat(first.path("connectedThisStep").asInt()).isEqualTo(100);
    assertThat(first.path("connectFailed").asInt()).isZero();
    assertThat(first.path("connectionsPerSec").asDouble()).isPositive();
    // every device published about once per 2 s (100 devices, 4 s: about 200 readings) and got its PUBACKs
    assertThat(first.path("acked").asLong()).isGreaterThan(100L * 4 / 2 / 2);
    assertThat(first.path("failedPublishes").asLong()).isZero();
    assertThat(first.path("pubackMs").path("p99").asDouble()).isPositive();
    assertThat(first.path("memoryIdle").path("brokerErlangPerConnectionKiB").asDouble()).isPositive();
    assertThat(first.path("memoryIdle").path("simulatorLiveHeapPerDeviceKiB").asDouble()).isPositive();
    assertThat(first.path("memoryPublishing").path("brokerErlangPerConnectionKiB").asDouble()).isPositive();
    // 100 TLS connections on a few shared event loops, not a thread each
    JsonNode threads = first.path("simulatorThreads");
    assertThat(threads.path("withFleet").asInt() - threads.path("beforeFleet").asInt()).isLessThan(20);
    assertThat(r.path("setup").path("enrollment")).hasSize(2);
    assertThat(r.path("steps")).hasSize(2);
    assertThat(r.path("steps").get(1).path("connectedThisStep").asInt()).isEqualTo(50);
    assertThat(r.path("findMax").path("largestFleetHeld").asInt()).isEqualTo(150);
    assertThat(r.path("findMax").path("stoppedBy").path("verdict").asText()).isEqualTo("MAX_REACHED");
    assertThat(r.path("limits").path("brokerFdLimit").asLong()).isPositive();
  }
}
