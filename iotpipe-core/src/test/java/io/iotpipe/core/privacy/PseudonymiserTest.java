package io.iotpipe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PseudonymiserTest {

  private static final String KEY = "0123456789abcdef0123456789abcdef-test-key";

  @Test
  void sameDeviceSamePseudonymAcrossInstancesAndThreads() {
    Pseudonymiser a = new Pseudonymiser(KEY.getBytes(StandardCharsets.UTF_8), "test");
    Pseudonymiser b = Pseudonymiser.fromEnvironment(Map.of("K", KEY)::get, "K");
    assertThat(a.pseudonym("evc-001")).isEqualTo(b.pseudonym("evc-001"));
    Set<String> seen = IntStream.range(0, 64).parallel().mapToObj(i -> a.pseudonym("evc-001")).collect(java.util.stream.Collectors.toSet());
    assertThat(seen).containsExactly(a.pseudonym("evc-001"));
  }

  @Test
  void pinnedValueSoAnAccidentalAlgorithmChangeBreaksJoinsLoudly() {
    // HMAC-SHA256(key, "evc-001"), first 16 bytes; computed independently with: printf evc-001 | openssl dgst -sha256 -hmac KEY
    Pseudonymiser p = new Pseudonymiser(KEY.getBytes(StandardCharsets.UTF_8), "test");
    assertThat(p.pseudonym("evc-001")).isEqualTo("p-" + OPENSSL_EVC_001.substring(0, 32));
  }

  // Filled from openssl at authoring time (see the test above).
  static final String OPENSSL_EVC_001 = "a76c98cfe71021d12c4b7472e7633fc9d6e392a505919c3341115173b67341f7";

  @Test
  void differentDevicesAndDifferentKeysGiveDifferentPseudonymsAndNoRawId() {
    Pseudonymiser p = new Pseudonymiser(KEY.getBytes(StandardCharsets.UTF_8), "test");
    Pseudonymiser other = new Pseudonymiser((KEY + "x").getBytes(StandardCharsets.UTF_8), "test");
    Set<String> out = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = "evc-" + i;
      String ps = p.pseudonym(id);
      assertThat(ps).doesNotContain(id).matches("p-[0-9a-f]{32}");
      out.add(ps);
    }
    assertThat(out).hasSize(10_000);
    assertThat(other.pseudonym("evc-1")).isNotEqualTo(p.pseudonym("evc-1"));
  }

  @Test
  void keyNeverShownAndShortOrMissingKeyRefusedWithTheFix() {
    Pseudonymiser p = Pseudonymiser.fromEnvironment(Map.of("K", KEY)::get, "K");
    assertThat(p.toString()).doesNotContain(KEY).contains("$K");
    assertThatThrownBy(() -> Pseudonymiser.fromEnvironment(Map.<String, String>of()::get, "IOTPIPE_PSEUDONYM_KEY"))
        .hasMessageContaining("set environment variable IOTPIPE_PSEUDONYM_KEY");
    assertThatThrownBy(() -> Pseudonymiser.fromEnvironment(Map.of("K", "short")::get, "K"))
        .hasMessageContaining("at least 32 bytes").hasMessageNotContaining("short");
  }
}
