package io.iotpipe.simulator;

import io.iotpipe.core.config.SimulatorConfig;

/**
 * How busy a device is at a moment of the run, as a factor of the configured peak rate.
 *
 * <p>A run is short, so the diurnal profile compresses a whole day into the run's duration: at 30% of a run it is
 * about 07:12 UTC, and each region sees its own local time (a charger in ap-southeast is in its evening rush while
 * eu-west is in its morning). Chargers are busiest in the evening (people plugging in after work), quietest at
 * night.
 */
final class LoadProfile {

  private final SimulatorConfig.LoadShape profile;

  LoadProfile(SimulatorConfig.LoadShape profile) {
    this.profile = profile;
  }

  /**
   * @param progress    0..1 through the run
   * @param utcOffset   the device's region offset in hours
   */
  double factor(double progress, int utcOffset) {
    return switch (profile) {
      case FLAT -> 1.0;
      case BURST -> {
        // Quiet most of the time, with five bursts at full rate that take a fifth of the run together (e.g. a fleet
        // reconnecting after an outage).
        double phase = (progress * 5) % 1.0;
        yield phase < 0.2 ? 1.0 : 0.25;
      }
      case DIURNAL -> {
        double localHour = ((progress * 24 + utcOffset) % 24 + 24) % 24;
        yield diurnal(localHour);
      }
    };
  }

  /** Relative charging activity over a local day: morning bump, evening peak, deep night trough. */
  static double diurnal(double h) {
    double morning = Math.exp(-Math.pow((h - 8) / 1.5, 2)) * 0.6;
    double evening = Math.exp(-Math.pow((h - 18.5) / 2.0, 2));
    double base = h < 5 || h > 23 ? 0.08 : 0.25;
    return Math.min(1.0, base + morning + evening);
  }
}
