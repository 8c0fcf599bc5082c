package io.iotpipe.simulator;

import io.iotpipe.core.envelope.Telemetry;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * One simulated EV charger: a small state machine (available → charging → finishing → available, with rare faults)
 * that produces plausible readings. Physics is rough on purpose; what matters downstream is realistic shape: a few
 * numeric metrics that drift, status changes, occasional error codes, and a strictly increasing {@code seq}.
 */
final class Device {

  enum State { AVAILABLE, CHARGING, FINISHING, FAULTED }

  private static final String[] ERRORS = {"E-GFCI-TRIP", "E-OVERTEMP", "E-COMM-LOSS", "E-CONNECTOR-LOCK"};

  final String id;
  final String site;
  final Fleet.Region region;
  private final double maxKw;
  private State state = State.AVAILABLE;
  private double soc;
  private double energyKwh;
  private double tempC;
  private long seq;
  private String errorCode;

  Device(String id, String site, Fleet.Region region, RandomGenerator rnd) {
    this.id = id;
    this.site = site;
    this.region = region;
    this.maxKw = rnd.nextBoolean() ? 22 : 150;
    this.tempC = 15 + rnd.nextDouble() * 10;
    this.energyKwh = rnd.nextDouble() * 10_000;
  }

  long seq() {
    return seq;
  }

  /** The next reading; advances the state machine and {@code seq}. */
  Telemetry next(Instant now, RandomGenerator rnd) {
    errorCode = null;
    switch (state) {
      case AVAILABLE -> {
        if (rnd.nextDouble() < 0.2) {
          state = State.CHARGING;
          soc = 5 + rnd.nextDouble() * 40;
        }
      }
      case CHARGING -> {
        soc = Math.min(100, soc + rnd.nextDouble() * 3);
        if (soc > 80) {
          state = State.FINISHING;
        } else if (rnd.nextDouble() < 0.003) {
          state = State.FAULTED;
          errorCode = ERRORS[rnd.nextInt(ERRORS.length)];
        }
      }
      case FINISHING -> {
        soc = Math.min(100, soc + rnd.nextDouble());
        if (soc >= 99.5 || rnd.nextDouble() < 0.1) {
          state = State.AVAILABLE;
        }
      }
      case FAULTED -> {
        if (rnd.nextDouble() < 0.2) {
          state = State.AVAILABLE;
        } else {
          errorCode = "E-RETRYING";
        }
      }
    }
    double powerKw = switch (state) {
      case CHARGING -> maxKw * (0.7 + 0.3 * rnd.nextDouble());
      case FINISHING -> maxKw * 0.15 * rnd.nextDouble();
      default -> 0;
    };
    energyKwh += powerKw / 3600 * 10;
    tempC += (powerKw > 0 ? 0.05 : -0.05) + (rnd.nextDouble() - 0.5) * 0.2;
    double voltage = state == State.CHARGING ? (maxKw > 50 ? 400 + rnd.nextDouble() * 20 : 230 + rnd.nextDouble() * 5) : 0;
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("powerKw", round(powerKw));
    m.put("energyKwh", round(energyKwh));
    m.put("tempC", round(tempC));
    m.put("voltageV", round(voltage));
    m.put("currentA", voltage == 0 ? 0.0 : round(powerKw * 1000 / voltage));
    if (state == State.CHARGING || state == State.FINISHING) {
      m.put("soc", round(soc));
    }
    return new Telemetry(id, ++seq, now, site, region.name(), state.name(), errorCode, m);
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }
}
