package io.iotpipe.tools.simulate;

import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe simulate}: a fleet of EV chargers publishing telemetry to the edge. */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = "Publish realistic EV-charger telemetry to the edge broker (publisher confirms / MQTT QoS 1).")
public final class SimulateCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin ConfigOption config;

  @Option(names = "--devices", description = "Fleet size (default: simulator.devices).")
  Integer devices;

  @Option(names = "--rate", description = "Messages per second of the whole fleet at peak (default: simulator.rate).")
  Double rate;

  @Option(names = "--duration", description = "How long to publish, e.g. 60s, 5m (default: simulator.duration).")
  String duration;

  @Option(names = "--messages-per-device", description = "Stop each device after this many readings instead of a duration.")
  long perDevice;

  @Option(names = "--profile", description = "flat | diurnal | burst (default: simulator.profile).")
  SimulatorConfig.LoadShape profile;

  @Option(names = "--protocol", description = "amqp | mqtt (default: simulator.protocol).")
  SimulatorConfig.Protocol protocol;

  @Option(names = "--ledger", description = "Write what was confirmed per device to this file (input of iotpipe audit).")
  Path ledger;

  @Option(names = "--json", description = "Print the summary as JSON.")
  boolean json;

  @Override
  public Integer call() {
    IotpipeConfig cfg = config.load();
    SimulatorConfig s = cfg.simulator();
    Duration d = duration == null ? s.duration() : parseDuration(duration);
    Simulation.Options o = Simulation.Options.from(s)
        .with(devices == null ? s.devices() : devices, rate == null ? s.rate() : rate, perDevice > 0 && duration == null ? null : d, perDevice)
        .withProfile(profile == null ? s.profile() : profile, protocol == null ? s.protocol() : protocol);
    Output out = new Output();
    SimulationResult r;
    try (Simulation sim = Simulation.create(cfg, o)) {
      Thread hook = new Thread(sim::stop);
      Runtime.getRuntime().addShutdownHook(hook);
      out.info(String.format("simulating %d devices (%s, %s) at up to %.0f msg/s, run %s", o.devices(),
          o.profile().name().toLowerCase(), o.protocol().name().toLowerCase(), o.rate(), o.runId()));
      r = sim.run(p -> out.progress(String.format("%5.0fs published %d confirmed %d nacked %d failed %d in flight %d%s",
          p.elapsedSeconds(), p.published(), p.confirmed(), p.nacked(), p.failed(), p.inFlight(), p.generating() ? "" : " (draining)")));
      out.endProgress();
      if (ledger != null) {
        sim.ledger().write(ledger);
      }
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook already ran
      }
    } catch (IllegalStateException e) {
      throw new CommandFailure(ExitCode.FAILED, e.getMessage());
    }
    if (json) {
      out.printJson(r.toJson());
    } else {
      System.out.printf("published %d, confirmed %d, nacked %d, returned %d, failed attempts %d, unconfirmed %d in %.1f s (%.0f msg/s)%n",
          r.published(), r.confirmed(), r.nacked(), r.returned(), r.failed(), r.unconfirmed(), r.seconds(), r.rate());
      if (r.lastError() != null && r.confirmed() < r.published()) {
        System.out.println("last error: " + r.lastError());
      }
    }
    return r.unconfirmed() == 0 ? ExitCode.OK : ExitCode.FAILED;
  }

  public static Duration parseDuration(String s) {
    Duration d = io.iotpipe.core.config.ConfigUnits.parseDuration(s);
    if (d == null) {
      throw new CommandFailure(ExitCode.USAGE, "--duration " + s + " is not a duration (write e.g. 90s, 5m, 1h)");
    }
    return d;
  }
}
