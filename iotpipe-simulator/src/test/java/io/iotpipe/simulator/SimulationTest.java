package io.iotpipe.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.envelope.Decoded;
import io.iotpipe.core.envelope.TelemetryCodec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BiFunction;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The fleet's promises to the audit, checked against an edge that confirms or refuses as each test needs: each
 * device numbers its readings 1, 2, 3… without gaps and on its own, keeps a refused reading and sends it again
 * unchanged before it moves on, and the ledger holds exactly what the edge confirmed.
 */
class SimulationTest {

  static final List<SimulatorConfig.Region> REGIONS = List.of(new SimulatorConfig.Region("eu-west", 1),
      new SimulatorConfig.Region("us-east", -5), new SimulatorConfig.Region("ap-southeast", 8));

  private final TelemetryCodec codec = new TelemetryCodec();

  static Simulation.Options options(int devices, double rate, Duration duration, long perDevice,
                                    SimulatorConfig.LoadShape profile, Duration drain) {
    return new Simulation.Options(devices, rate, duration, perDevice, profile, SimulatorConfig.Protocol.AMQP, 100,
        REGIONS, UUID.randomUUID().toString().substring(0, 6), drain, 42);
  }

  private static SimulationResult run(Simulation.Options o, FakeTransport edge) {
    try (Simulation sim = new Simulation(o, edge, new TelemetryCodec())) {
      SimulationResult r = sim.run(null);
      lastLedger = sim.ledger();
      return r;
    }
  }

  private static Ledger lastLedger;

  @Test
  void everyDeviceNumbersItsReadingsFromOneWithoutGapsAndOnItsOwn() {
    Simulation.Options o = options(9, 100_000, null, 25, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(5));
    FakeTransport edge = FakeTransport.confirmingAll();

    SimulationResult r = run(o, edge);

    Map<String, List<FakeTransport.Attempt>> byDevice = edge.byDevice();
    assertThat(byDevice.keySet()).as("the devices that published are the ones enrolled up front")
        .containsExactlyInAnyOrderElementsOf(Simulation.deviceIds(o));
    List<Long> oneTo25 = LongStream.rangeClosed(1, 25).boxed().toList();
    byDevice.forEach((device, attempts) -> {
      assertThat(attempts).extracting(FakeTransport.Attempt::seq).as(device).containsExactlyElementsOf(oneTo25);
      for (FakeTransport.Attempt a : attempts) {
        // what is on the wire carries the same identity the edge was told about
        assertThat(codec.decode(a.body())).isInstanceOfSatisfying(Decoded.Valid.class, v -> {
          assertThat(v.telemetry().deviceId()).isEqualTo(device);
          assertThat(v.telemetry().seq()).isEqualTo(a.seq());
        });
      }
    });
    assertThat(r.published()).isEqualTo(9 * 25);
    assertThat(r.confirmed()).isEqualTo(9 * 25);
    assertThat(r.unconfirmed()).isZero();
    assertThat(r.perRegion()).containsOnlyKeys("eu-west", "us-east", "ap-southeast")
        .allSatisfy((region, n) -> assertThat(n).as(region).isEqualTo(3 * 25L));
    assertThat(lastLedger.runId()).isEqualTo(o.runId());
    assertThat(lastLedger.devices()).hasSize(9)
        .allSatisfy((device, e) -> assertThat(e).isEqualTo(new Ledger.Entry(25, 25)));
    assertThat(lastLedger.confirmed()).isEqualTo(9 * 25);
  }

  @Test
  void aRefusedReadingIsSentAgainUnchangedBeforeTheDeviceMovesOn() {
    // First attempts of some readings fail as the real publisher reports a full edge buffer or a missing route.
    BiFunction<io.iotpipe.core.envelope.Telemetry, Integer, String> verdict = (t, n) -> {
      if (n == 1 && t.seq() % 4 == 0) {
        return "nacked by the broker (queue full or broker error)";
      }
      if (n <= 2 && t.seq() % 5 == 0) {
        return "unroutable: returned by the broker (312 NO_ROUTE)";
      }
      return null;
    };
    FakeTransport edge = new FakeTransport(verdict);
    Simulation.Options o = options(3, 100_000, null, 10, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(10));

    SimulationResult r = run(o, edge);

    edge.byDevice().forEach((device, attempts) -> {
      assertThat(attempts).extracting(FakeTransport.Attempt::seq).as(device).isSorted();
      for (long seq = 1; seq <= 10; seq++) {
        long s = seq;
        List<FakeTransport.Attempt> ofSeq = attempts.stream().filter(a -> a.seq() == s).toList();
        int expected = 1 + (seq % 4 == 0 ? 1 : 0) + (seq % 5 == 0 ? 2 : 0);
        assertThat(ofSeq).as("%s seq %d attempts", device, seq).hasSize(expected);
        assertThat(ofSeq.getLast().confirmed()).isTrue();
        // the same bytes every time: a retry with other content would be dead-lettered downstream as a conflict
        assertThat(ofSeq).allSatisfy(a -> assertThat(a.body()).isEqualTo(ofSeq.getFirst().body()));
      }
    });
    assertThat(r.published()).as("distinct readings").isEqualTo(30);
    assertThat(r.confirmed()).isEqualTo(30);
    assertThat(r.nacked()).isEqualTo(3 * 2);     // seq 4 and 8, once each
    assertThat(r.returned()).isEqualTo(3 * 2 * 2); // seq 5 and 10, twice each
    assertThat(r.failed()).isZero();
    assertThat(lastLedger.devices().values()).allSatisfy(e -> assertThat(e).isEqualTo(new Ledger.Entry(10, 10)));
  }

  @Test
  void theLedgerHoldsOnlyWhatTheEdgeConfirmed() {
    Simulation.Options o = options(4, 100_000, Duration.ofMillis(1500), 5, SimulatorConfig.LoadShape.FLAT, Duration.ofMillis(800));
    String stuck = Simulation.deviceIds(o).get(1);
    FakeTransport edge = new FakeTransport((t, n) ->
        t.deviceId().equals(stuck) && t.seq() == 3 ? "edge connection down, reconnecting" : null);

    SimulationResult r = run(o, edge);

    Ledger.Entry e = lastLedger.devices().get(stuck);
    assertThat(e).as("readings 1-2 confirmed, 3 sent but never confirmed").isEqualTo(new Ledger.Entry(2, 3));
    assertThat(edge.byDevice().get(stuck)).as("the device never skips the unconfirmed reading")
        .extracting(FakeTransport.Attempt::seq).allSatisfy(seq -> assertThat(seq).isLessThanOrEqualTo(3));
    lastLedger.devices().forEach((device, entry) -> {
      if (!device.equals(stuck)) {
        assertThat(entry).as(device).isEqualTo(new Ledger.Entry(5, 5));
      }
    });
    assertThat(lastLedger.confirmed()).isEqualTo(2 + 3 * 5);
    assertThat(r.confirmed()).isEqualTo(2 + 3 * 5);
    assertThat(r.unconfirmed()).isEqualTo(1);
    assertThat(r.failed()).isPositive();
    assertThat(r.lastError()).contains("edge connection down");
  }

  @Test
  void aFlatFleetPublishesAtTheConfiguredRateAndABurstyOneAtItsAverage() {
    // 20 devices at 300 readings/s for 2 s: 600 readings, the rate the user asked for (plus at most one reading per
    // device from the random start phase). Bounds leave room for a busy machine but not for a wrong rate.
    FakeTransport flatEdge = FakeTransport.confirmingAll();
    SimulationResult flat = run(options(20, 300, Duration.ofSeconds(2), 0, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(5)), flatEdge);
    assertThat(flat.published()).isBetween(450L, 640L);

    // The burst profile runs at full rate a fifth of the time and at a quarter otherwise: 0.4 of the peak on average.
    FakeTransport burstEdge = FakeTransport.confirmingAll();
    SimulationResult burst = run(options(20, 300, Duration.ofSeconds(2), 0, SimulatorConfig.LoadShape.BURST, Duration.ofSeconds(5)), burstEdge);
    assertThat(burst.published()).isBetween(180L, 280L);
  }

  @Test
  void fleetsOfDifferentRunsNeverShareADeviceIdAndSpreadEvenlyOverTheRegions() {
    Simulation.Options a = options(30, 1, null, 1, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(1));
    Simulation.Options b = options(30, 1, null, 1, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(1));
    // (deviceId, seq) identifies a reading in the sinks: a second run must not overwrite or collide with the first
    assertThat(Simulation.deviceIds(a)).doesNotContainAnyElementsOf(Simulation.deviceIds(b));
    assertThat(Simulation.deviceIds(a)).doesNotHaveDuplicates().allSatisfy(id -> assertThat(id).contains(a.runId()));
    assertThat(Simulation.deviceIds(a)).as("deterministic: enrolled before the run starts")
        .isEqualTo(Simulation.deviceIds(a));
    Fleet fleet = new Fleet(30, REGIONS, a.runId(), a.seed());
    assertThat(fleet.devices.stream().collect(java.util.stream.Collectors.groupingBy(d -> d.region.name(),
        java.util.stream.Collectors.counting()))).containsOnly(Map.entry("eu-west", 10L), Map.entry("us-east", 10L),
        Map.entry("ap-southeast", 10L));
    assertThat(fleet.devices).allSatisfy(d -> assertThat(d.site).startsWith(d.region.name() + "-site-"));
  }

  @Test
  void aFirmwareRolloutChangesWhatDevicesPublishFromTheSwitchOnAndTheLedgerStillCountsBySeq() {
    Simulation.Options o = options(4, 100_000, null, 20, SimulatorConfig.LoadShape.FLAT, Duration.ofSeconds(5));
    FakeTransport edge = FakeTransport.confirmingAll();
    try (Simulation sim = new Simulation(o, edge, new TelemetryCodec())) {
      // readings 11 and later carry a field the v1 envelope does not define
      sim.firmware((t, elapsed, c) -> t.seq() <= 10 ? c.encode(t)
          : ("{\"fw\":\"2.4.1\"," + new String(c.encode(t), java.nio.charset.StandardCharsets.UTF_8).substring(1))
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      SimulationResult r = sim.run(null);
      assertThat(r.confirmed()).isEqualTo(80);
      assertThat(sim.ledger().devices().values()).allMatch(e -> e.confirmed() == 20);
    }
    for (FakeTransport.Attempt a : edge.attempts()) {
      String body = new String(a.body(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(body.startsWith("{\"fw\":\"2.4.1\",")).as(body).isEqualTo(a.seq() > 10);
      // the default contract keeps the new field: the reading is valid, with the field in its attributes
      assertThat(codec.decode(a.body())).isInstanceOfSatisfying(Decoded.Valid.class,
          v -> assertThat(v.telemetry().attributes().containsKey("fw")).isEqualTo(a.seq() > 10));
    }
  }
}
