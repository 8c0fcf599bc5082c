package io.iotpipe.cli.topology;

import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.topology.RegionFailover;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code iotpipe failover}: keeps the edges shipping to a region that is up, home first. */
@Command(name = "failover", mixinStandardHelpOptions = true,
    description = {"Watches the home region (topology.balancer) and the failover regions (topology.failover); moves the",
        "edges' shovels to the next region when every home node is unreachable, and back home once it is healthy again.",
        "Run one per deployment (e.g. beside the edge); it holds no state a restart would lose."})
public final class FailoverCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin
  ConfigOption config;

  @Option(names = "--interval", defaultValue = "2", description = "Seconds between probes (default: ${DEFAULT-VALUE}).")
  int intervalSeconds;

  @Option(names = "--fail-after", defaultValue = "3", description = "Failed probes of the current region before moving (default: ${DEFAULT-VALUE}).")
  int failAfter;

  @Option(names = "--failback-after", defaultValue = "5", description = "Good probes of home before moving back (default: ${DEFAULT-VALUE}).")
  int failbackAfter;

  @Option(names = "--once", description = "Probe once, act if needed, print the decision and exit.")
  boolean once;

  @Option(names = "--json", description = "Print decisions as JSON lines.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    IotpipeConfig cfg = config.load();
    RegionFailover failover = new RegionFailover(cfg, failAfter, failbackAfter);
    Output out = new Output();
    out.info("iotpipe failover: home " + failover.home() + ", failover " + cfg.topology().failover() + ", probing every "
        + intervalSeconds + " s");
    do {
      RegionFailover.Decision d = failover.step();
      if (json) {
        out.printJson(Map.of("at", Instant.now().toString(), "region", d.region(), "moved", d.moved(), "reason", d.reason()));
      } else if (d.moved() || once) {
        System.out.println(Instant.now() + " " + (d.moved() ? "MOVED to " : "shipping to ") + d.region() + ": " + d.reason());
      }
      if (!once) {
        TimeUnit.SECONDS.sleep(Duration.ofSeconds(intervalSeconds).toSeconds()); // the probe interval
      }
    } while (!once);
    return ExitCode.OK;
  }
}
