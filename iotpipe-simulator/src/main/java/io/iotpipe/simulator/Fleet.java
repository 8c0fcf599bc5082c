package io.iotpipe.simulator;

import io.iotpipe.core.config.SimulatorConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A fleet of chargers spread evenly over regions, a few sites per region. */
final class Fleet {

  record Region(String name, int utcOffsetHours) {}

  final List<Device> devices;

  /**
   * @param runId distinguishes fleets of different runs: a reading is identified by {@code (deviceId, seq)}, and a
   *              second run against the same sinks must not collide with the first
   */
  Fleet(int size, List<SimulatorConfig.Region> regions, String runId, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Device> ds = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      SimulatorConfig.Region r = regions.get(i % regions.size());
      String site = r.name() + "-site-" + (i / regions.size()) % 10;
      ds.add(new Device(String.format("evc-%s-%s-%05d", runId, r.name(), i), site, new Region(r.name(), r.utcOffsetHours()), rnd));
    }
    this.devices = List.copyOf(ds);
  }
}
