package io.iotpipe.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalPortsTest {

  @Test
  void portsAreBelowTheEphemeralRangeDistinctAndBindable() throws Exception {
    int low = LocalPorts.ephemeralLow(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      int port = LocalPorts.free();
      assertThat(seen.add(port)).as("port %d handed out twice", port).isTrue();
      if (low - LocalPorts.LOWEST >= 1_000) {
        assertThat(port).isBetween(LocalPorts.LOWEST, low - 1);
      }
      try (ServerSocket s = new ServerSocket(port)) {
        assertThat(s.getLocalPort()).isEqualTo(port);
      }
    }
  }

  @Test
  void aRangeThatLeavesNoRoomBelowStillNeverHandsOutAPortTwice() throws Exception {
    // CI machines may set the ephemeral range to 1024-65535: then the kernel chooses, and may choose a port again
    // once it is closed; each must still be handed out once.
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      int port = LocalPorts.free(1024);
      assertThat(seen.add(port)).as("port %d handed out twice", port).isTrue();
      try (ServerSocket s = new ServerSocket(port)) {
        assertThat(s.getLocalPort()).isEqualTo(port);
      }
    }
  }

  @Test
  void theRangeIsReadFromTheKernelsFileOrDefaultsToIanas(@TempDir Path dir) throws Exception {
    Path f = Files.writeString(dir.resolve("range"), "32768\t60999\n");
    assertThat(LocalPorts.ephemeralLow(f)).isEqualTo(32768);
    assertThat(LocalPorts.ephemeralLow(dir.resolve("absent"))).isEqualTo(49152);
  }
}
