package io.iotpipe.cli.run;

import io.iotpipe.runtime.HealthServer;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe run --role index|store|all}: the production process. Consumes until SIGTERM/SIGINT, then stops
 * taking messages, flushes, acks what became durable and exits; nothing acked is lost, nothing unacked is dropped.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = "Run pipeline roles against the brokers and search engine of the config until stopped (SIGTERM/Ctrl-C stops gracefully).")
public class RunCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin
  ConfigOption config;

  @Option(names = "--role", defaultValue = "all", description = "The role of an installed sink plugin (index, store, ...) "
      + "or all (default: ${DEFAULT-VALUE}).")
  String role;

  @Option(names = "--instance-id", description = "Name of this instance in file names and connection names (default: host-pid).")
  String instanceId;

  @Option(names = "--port", description = "Health/metrics port (overrides observability.port; 0 = off).")
  Integer port;

  @Option(names = "--region", description = "Consume from this region's cluster: topology.balancer (default) or one of "
      + "topology.failover. Run the roles of every region; the edges ship to one at a time (see `iotpipe failover`).")
  String region;

  protected Set<Role> roles(IotpipeConfig cfg) {
    if ("all".equals(role)) {
      return Role.configured(cfg);
    }
    try {
      return java.util.Set.of(Role.of(role));
    } catch (io.iotpipe.runtime.PipelineException e) {
      throw new CommandFailure(ExitCode.USAGE, "--role: " + e.getMessage());
    }
  }

  @Override
  public Integer call() throws Exception {
    io.iotpipe.runtime.Startup.mark("command parsed");
    IotpipeConfig loaded = config.load();
    io.iotpipe.runtime.Startup.mark("config loaded");
    IotpipeConfig cfg;
    try {
      cfg = region == null ? loaded : loaded.inRegion(region);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    String id = instanceId != null ? instanceId : io.iotpipe.runtime.ProcessMetrics.defaultInstance();
    Output out = new Output();
    PrometheusMeterRegistry registry = io.iotpipe.runtime.ProcessMetrics.registry(id);
    PipelineRunner runner = new PipelineRunner(cfg, roles(cfg), id, registry);
    io.iotpipe.runtime.Startup.mark("sinks created");
    runner.start();
    int p = port != null ? port : cfg.observability().port();
    HealthServer health = null;
    if (p > 0) {
      try {
        health = new HealthServer(cfg.observability().bind(), p, runner, registry);
        out.info("iotpipe run: health on http://" + cfg.observability().bind() + ":" + health.port() + "/health, metrics on /metrics");
      } catch (IOException e) {
        runner.close(Duration.ofSeconds(5));
        throw new CommandFailure(ExitCode.FAILED, "cannot listen on " + cfg.observability().bind() + ":" + p + " (" + e.getMessage()
            + "): is another iotpipe using it? Pass --port N or set observability.port.");
      }
    }
    CountDownLatch stopped = new CountDownLatch(1);
    HealthServer h = health;
    Thread hook = new Thread(() -> {
      out.endProgress();
      out.info("iotpipe run: stopping (flushing sinks, acking what is durable)...");
      runner.close(Duration.ofSeconds(60));
      if (h != null) {
        h.close();
      }
      out.info("iotpipe run: stopped cleanly");
      stopped.countDown();
    }, "iotpipe-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.info("iotpipe run: instance " + id + " running roles " + runner.roles() + " on " + cfg.topology().partitions()
        + " partitions (ms since the JVM started: " + io.iotpipe.runtime.Startup.timeline() + ")");
    while (!stopped.await(2, java.util.concurrent.TimeUnit.SECONDS)) {
      StringBuilder line = new StringBuilder();
      runner.stats().forEach((r, s) -> line.append(r.name().toLowerCase()).append(": delivered ").append(s.delivered())
          .append(", dead-lettered ").append(s.deadLettered()).append(", pending ").append(s.pending())
          .append(s.connected() ? "" : " (DISCONNECTED: " + s.lastError() + ")").append("   "));
      out.progress(line.toString().trim());
    }
    return ExitCode.OK;
  }

  /** {@code iotpipe index}: the indexer role alone. */
  @Command(name = "index", mixinStandardHelpOptions = true,
      description = "Consume the elk partition queues into Elasticsearch/OpenSearch (same as run --role index).")
  public static final class Index extends RunCommand {
    @Override
    protected Set<Role> roles(IotpipeConfig cfg) {
      return java.util.Set.of(Role.of("index"));
    }
  }

  /** {@code iotpipe store}: the storage writer role alone. */
  @Command(name = "store", mixinStandardHelpOptions = true,
      description = "Consume the storage partition queues into analytics files (same as run --role store).")
  public static final class Store extends RunCommand {
    @Override
    protected Set<Role> roles(IotpipeConfig cfg) {
      return java.util.Set.of(Role.of("store"));
    }
  }
}
