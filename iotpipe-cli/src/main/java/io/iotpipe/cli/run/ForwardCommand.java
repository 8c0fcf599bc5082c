package io.iotpipe.cli.run;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.runtime.HealthServer;
import io.iotpipe.runtime.ProcessMetrics;
import io.iotpipe.runtime.forward.Forwarder;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe forward}: the edge forwarder of {@code topology.wan.mode: batch}, one process per edge, next to it.
 * Runs until SIGTERM/SIGINT, then sends what it holds, acks what the cloud confirmed and exits; what is unacked goes
 * back to the edge buffer.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
    description = "Carry an edge's readings to the cloud in batches per partition (topology.wan.mode: batch) until stopped.")
public class ForwardCommand implements IotpipeCommand, Callable<Integer> {

  @Mixin
  ConfigOption config;

  @Option(names = "--edge", description = "The edge broker to drain (default: the first of topology.edges).")
  String edge;

  @Option(names = "--instance-id", description = "Name of this instance in connection names and metrics (default: host-pid).")
  String instanceId;

  @Option(names = "--port", description = "Health/metrics port (overrides observability.port; 0 = off).")
  Integer port;

  @Override
  public Integer call() throws Exception {
    IotpipeConfig cfg = config.load();
    if (cfg.topology().edges().isEmpty()) {
      throw new CommandFailure(ExitCode.USAGE, "topology.edges is empty: name the edge broker this forwarder drains");
    }
    String name = edge != null ? edge : cfg.topology().edges().getFirst();
    Forwarder forwarder;
    try {
      forwarder = Forwarder.of(cfg, name);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    Output out = new Output();
    PrometheusMeterRegistry registry = ProcessMetrics.registry(instanceId != null ? instanceId : ProcessMetrics.defaultInstance());
    forwarder.bindTo(registry);
    forwarder.start();
    int p = port != null ? port : cfg.observability().port();
    HealthServer health = null;
    if (p > 0) {
      try {
        health = new HealthServer(cfg.observability().bind(), p, "forwarders",
            () -> Map.of(name, forwarder.healthPart()), registry);
        out.info("iotpipe forward: health on http://" + cfg.observability().bind() + ":" + health.port() + "/health, metrics on /metrics");
      } catch (IOException e) {
        forwarder.close();
        throw new CommandFailure(ExitCode.FAILED, "cannot listen on " + cfg.observability().bind() + ":" + p + " (" + e.getMessage()
            + "): is another iotpipe using it? Pass --port N or set observability.port.");
      }
    }
    HealthServer h = health;
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      out.endProgress();
      out.info("iotpipe forward: stopping (sending open batches, acking what the cloud confirmed)...");
      forwarder.close();
      if (h != null) {
        h.close();
      }
      out.info("iotpipe forward: stopped cleanly");
      stopped.countDown();
    }, "iotpipe-forward-shutdown"));
    out.info("iotpipe forward: draining " + cfg.topology().names().edgeOutbound() + " on " + name + " into "
        + cfg.topology().names().batchExchange() + " on " + cfg.topology().balancer());
    while (!stopped.await(2, TimeUnit.SECONDS)) {
      Forwarder.Stats s = forwarder.stats();
      out.progress("forwarded " + s.readingsConfirmed() + " readings in " + s.batchesConfirmed() + " batches, unacked at the edge "
          + s.unacked() + (s.reconnects() == 0 ? "" : ", reconnects " + s.reconnects())
          + (s.connected() ? "" : " (DISCONNECTED: " + s.lastError() + ")"));
    }
    return ExitCode.OK;
  }
}
