package io.iotpipe.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.envelope.Decoded;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.core.envelope.TelemetryCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** One simulated charger: its readings are numbered without gaps and always pass the pipeline's contract. */
class DeviceTest {

  private static final TelemetryCodec CODEC = new TelemetryCodec();
  private static final Set<String> STATES = Set.of("AVAILABLE", "CHARGING", "FINISHING", "FAULTED");

  @Property(tries = 50)
  void readingsAreNumberedFromOneWithoutGapsAndAreValid(@ForAll long seed, @ForAll @IntRange(min = 1, max = 500) int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Device d = new Device("evc-test-eu-west-00001", "eu-west-site-0", new Fleet.Region("eu-west", 1), rnd);
    // millisecond timestamps in the past, as the fleet stamps them (the contract refuses readings from the future)
    Instant start = Instant.ofEpochMilli(System.currentTimeMillis()).minusSeconds(n);
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Telemetry t = d.next(start.plusSeconds(i), rnd);
      seqs.add(t.seq());
      assertThat(t.deviceId()).isEqualTo("evc-test-eu-west-00001");
      assertThat(t.region()).isEqualTo("eu-west");
      assertThat(t.status()).isIn(STATES);
      assertThat(t.metrics().get("powerKw")).isGreaterThanOrEqualTo(0);
      if (t.metrics().containsKey("soc")) {
        assertThat(t.status()).isIn("CHARGING", "FINISHING");
        assertThat(t.metrics().get("soc")).isBetween(0.0, 100.0);
      }
      if (t.errorCode() != null) {
        assertThat(t.status()).isEqualTo("FAULTED");
      }
      // every reading the fleet produces is accepted by the sinks' contract: no dead letters from the simulator
      assertThat(CODEC.decode(CODEC.encode(t))).isInstanceOfSatisfying(Decoded.Valid.class,
          v -> assertThat(v.telemetry()).isEqualTo(t));
    }
    assertThat(seqs).isEqualTo(java.util.stream.LongStream.rangeClosed(1, n).boxed().toList());
    assertThat(d.seq()).isEqualTo(n);
  }

  @Property(tries = 20)
  void devicesCountIndependently(@ForAll long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Device a = new Device("evc-a", "s", new Fleet.Region("eu-west", 1), rnd);
    Device b = new Device("evc-b", "s", new Fleet.Region("eu-west", 1), rnd);
    Instant now = Instant.now();
    for (int i = 0; i < 7; i++) {
      a.next(now, rnd);
    }
    assertThat(b.next(now, rnd).seq()).isEqualTo(1);
    assertThat(a.next(now, rnd).seq()).isEqualTo(8);
  }
}
