package io.iotpipe.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.envelope.TelemetryCodec;
import io.iotpipe.security.AdminApi;
import io.iotpipe.security.Enrollment;
import io.iotpipe.security.SecureLocalStack;
import io.iotpipe.simulator.DeviceCredentials;
import io.iotpipe.simulator.MqttDeviceFleet;
import io.iotpipe.topology.TopologyPlanner;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe bench devices}: how many devices one edge node holds. Each device is what the security module makes
 * of a real one: its own EC P-256 certificate from the fleet PKI, its own broker user (enrolled in one definitions
 * import), its own MQTT-over-TLS connection with certificate login, publishing one reading (QoS 1) per interval to
 * {@code telemetry/<id>}; the edge forwards them over the secured shovel to a cloud node (with no sinks, so the
 * cloud drops them after routing). The simulator holds all connections on a few Vert.x event loops.
 *
 * <p>The first step connects {@code --devices} and measures: set-up rate, broker memory per connection, simulator
 * memory per device, PUBACK latency at steady state, CPU of broker and simulator. {@code --find-max} then adds
 * {@code --step-devices} per step until a step does not hold ({@link DeviceScale}) and reports the largest fleet held
 * and what stopped it.
 */
@Command(name = "devices", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Device connections one edge node holds: MQTT over TLS, one certificate and connection per device, one reading per interval.",
        "Set-up rate, broker memory per connection, simulator memory per device, PUBACK p50/p99, CPU; --find-max: the largest fleet held."})
final class DevicesCommand implements Callable<Integer> {

  @Option(names = "--devices", defaultValue = "10000", description = "Devices of the first step, the headline measurement (default: ${DEFAULT-VALUE}).")
  int devices;

  @Option(names = "--interval", defaultValue = "10", description = "Seconds between two readings of one device (default: ${DEFAULT-VALUE}).")
  int intervalSeconds;

  @Option(names = "--hold", defaultValue = "60", description = "Seconds of steady state measured per step, after one interval of warm-up (default: ${DEFAULT-VALUE}).")
  int holdSeconds;

  @Option(names = "--find-max", description = "After the first step, add --step-devices per step until a step does not hold.")
  boolean findMax;

  @Option(names = "--step-devices", defaultValue = "2500", description = "Devices added per --find-max step (default: ${DEFAULT-VALUE}).")
  int stepDevices;

  @Option(names = "--max-devices", defaultValue = "40000", description = "Stop --find-max here (default: ${DEFAULT-VALUE}).")
  int maxDevices;

  @Option(names = "--connect-parallelism", defaultValue = "32", description = "TLS handshakes in progress at once (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--event-loops", defaultValue = "2", description = "Simulator I/O threads for all connections (default: ${DEFAULT-VALUE}).")
  int eventLoops;

  @Option(names = "--settle", defaultValue = "8", description = "Seconds to wait after connecting before memory is read (broker statistics refresh every 5 s; default: ${DEFAULT-VALUE}).")
  int settleSeconds;

  @Option(names = "--credential", defaultValue = "CERTIFICATE", description = {"How devices log in: CERTIFICATE (each its own client certificate) or",
      "PASSWORD (each its own password over TLS; the server is still verified) (default: ${DEFAULT-VALUE})."})
  Enrollment.Credential credential;

  @Option(names = "--dir", description = "Work directory (default: data/bench-devices-<random>).")
  Path dir;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  private final Output out = new Output();
  private final Recorder latencies = new Recorder(3);

  @Override
  public Integer call() throws Exception {
    if (devices < 1 || intervalSeconds < 1 || holdSeconds < 1 || stepDevices < 1 || parallelism < 1 || eventLoops < 1
        || (findMax && maxDevices < devices)) {
      System.err.println("need --devices, --interval, --hold, --step-devices, --connect-parallelism, --event-loops >= 1 and --max-devices >= --devices");
      return ExitCode.USAGE;
    }
    Path base = (dir != null ? dir : Path.of("data", "bench-devices-" + UUID.randomUUID().toString().substring(0, 6))).toAbsolutePath();
    String run = UUID.randomUUID().toString().substring(0, 4);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("command", "./iotpipe bench devices --devices " + devices + " --interval " + intervalSeconds + " --hold " + holdSeconds
        + (findMax ? " --find-max --step-devices " + stepDevices + " --max-devices " + maxDevices : "")
        + " --connect-parallelism " + parallelism + " --event-loops " + eventLoops + " --credential " + credential);
    r.put("machine", MeasuredProfileFile.machine());
    long self = ProcessHandle.current().pid();
    long t0 = System.nanoTime();
    out.info("starting a secured edge node and a cloud node (TLS only, fleet PKI, no sinks) ...");
    try (SecureLocalStack stack = SecureLocalStack.start(base, 1, "devbench", List.of())) {
      // No sinks: the cloud routes the readings to nothing and drops them, so no queue grows during a long run.
      String yaml = stack.configYaml(stack.adminUser(), 1, null).replaceFirst("(?m)^  sinks: \\[.*]$", "  sinks: []");
      IotpipeConfig cfg = IotpipeConfig.parse("bench-devices", yaml, stack.env(stack.adminUser()));
      TopologyPlanner planner = new TopologyPlanner();
      planner.apply(cfg, planner.plan(cfg));
      double stackSeconds = (System.nanoTime() - t0) / 1e9;
      var edge = stack.nodes().edge();
      long broker = edge.pid();
      AdminApi api = stack.edgeApi();
      String nodePath = "nodes/" + AdminApi.enc(edge.nodeName()) + "?memory=true";
      Map<String, Object> limits = new LinkedHashMap<>();
      // A fresh node publishes its statistics (limits included) after its first collection, every 5 s.
      JsonNode node0 = api.require("GET", nodePath, null);
      for (int i = 0; i < 30 && !node0.has("fd_total"); i++) {
        TimeUnit.MILLISECONDS.sleep(500);
        node0 = api.require("GET", nodePath, null);
      }
      limits.put("brokerFdLimit", node0.path("fd_total").asLong(-1));
      limits.put("brokerSocketsLimit", node0.path("sockets_total").asLong(-1));
      limits.put("brokerErlangProcessLimit", node0.path("proc_total").asLong(-1));
      limits.put("brokerMemoryWatermarkMiB", node0.path("mem_limit").asLong(-1) >> 20);
      limits.put("brokerUlimitN", ProcessMeter.fdLimit(broker));
      limits.put("simulatorUlimitN", ProcessMeter.fdLimit(self));
      limits.put("simulatorMaxHeapMiB", Runtime.getRuntime().maxMemory() >> 20);
      limits.put("ephemeralPorts", ephemeralPorts());
      r.put("limits", limits);
      out.info("limits: " + limits);

      Snapshot before = snapshot(api, nodePath, broker, self);
      URI mqtt = URI.create("ssl://127.0.0.1:" + edge.mqttPort());
      DeviceCredentials creds = new DeviceCredentials(stack.pki().caCert(), stack.clientsDir(),
          credential == Enrollment.Credential.PASSWORD ? stack.enrollment().passwordFile("x").getParent() : null);
      TelemetryCodec codec = new TelemetryCodec(cfg.contract(), Clock.systemUTC());
      List<Map<String, Object>> steps = new ArrayList<>();
      List<Map<String, Object>> enrollments = new ArrayList<>();
      Map<String, Object> headline = null;
      int held = 0;
      DeviceScale.Verdict stoppedBy = null;
      String limit = null;
      double bestP99 = Double.NaN;
      int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
      try (MqttDeviceFleet fleet = new MqttDeviceFleet(mqtt, creds, eventLoops, codec, latencies::recordValue)) {
        int target = devices;
        int stepNo = 0;
        while (target > 0) {
          stepNo++;
          int from = fleet.size();
          List<String> ids = Enrollment.fleetIds("dev-" + run, target).subList(from, target);
          String tag = "[step " + stepNo + ": " + target + " devices]";
          // Set-up, reported apart from the measurement: certificates and users of this step's new devices, one import.
          out.info(tag + " enrolling " + ids.size() + " devices (" + (credential == Enrollment.Credential.CERTIFICATE ? "EC P-256 certificates"
              : "passwords") + ", one definitions import) ...");
          Enrollment.Report er = stack.enrollment().enroll(api, ids, credential, out::progress);
          out.endProgress();
          enrollments.add(Map.of("devices", ids.size(), "issueSeconds", Stats.round(er.issueMillis() / 1e3, 1),
              "importSeconds", Stats.round(er.importMillis() / 1e3, 1)));
          out.info(String.format("%s enrolled: certificates %.1f s, definitions import %.1f s", tag, er.issueMillis() / 1e3, er.importMillis() / 1e3));

          double b0 = CpuMeter.processSeconds(broker);
          double s0 = CpuMeter.ownSeconds();
          out.info(tag + " connecting " + ids.size() + " devices over MQTT/TLS, " + parallelism + " handshakes at a time ...");
          MqttDeviceFleet.Connected c = fleet.connect(ids, parallelism, Duration.ofSeconds(Math.max(120, ids.size() / 20)), out::progress);
          out.endProgress();
          double connectBrokerCpu = CpuMeter.processSeconds(broker) - b0;
          double connectSimCpu = CpuMeter.ownSeconds() - s0;
          out.info(String.format("%s connected %d of %d in %.1f s (%.0f/s)%s", tag, c.connected(), c.requested(), c.seconds(),
              c.connected() / c.seconds(), c.firstError() == null ? "" : "; first failure: " + c.firstError()));
          Map<String, Object> step = new LinkedHashMap<>();
          step.put("devices", target);
          step.put("connectedThisStep", c.connected());
          step.put("connectFailed", c.failed());
          step.put("connectSeconds", Stats.round(c.seconds(), 1));
          step.put("connectionsPerSec", Math.round(c.connected() / c.seconds()));
          step.put("connectCpuSecondsPer1000", Map.of("broker", Stats.round(connectBrokerCpu / Math.max(1, c.connected()) * 1000, 2),
              "simulator", Stats.round(connectSimCpu / Math.max(1, c.connected()) * 1000, 2)));
          if (c.firstError() != null) {
            step.put("firstConnectFailure", c.firstError());
          }

          if (stepNo == 1) {
            // Memory of idle connections, before any reading: the broker's statistics refresh every 5 s.
            TimeUnit.SECONDS.sleep(settleSeconds);
            Snapshot after = snapshot(api, nodePath, broker, self);
            int connected = Math.max(1, fleet.connected());
            Map<String, Object> mem = new LinkedHashMap<>();
            mem.put("brokerErlangPerConnectionKiB", Stats.round((after.brokerErlang - before.brokerErlang) / 1024.0 / connected, 1));
            mem.put("brokerConnectionCategoriesPerConnectionKiB", Stats.round((after.brokerConnections - before.brokerConnections) / 1024.0 / connected, 1));
            mem.put("brokerRssPerConnectionKiB", Stats.round((after.brokerRss - before.brokerRss) / 1024.0 / connected, 1));
            mem.put("simulatorLiveHeapPerDeviceKiB", Stats.round((after.heap - before.heap) / 1024.0 / connected, 1));
            mem.put("simulatorRssPerDeviceKiB", Stats.round((after.rss - before.rss) / 1024.0 / connected, 1));
            mem.put("brokerErlangMiB", Map.of("before", before.brokerErlang >> 20, "after", after.brokerErlang >> 20));
            mem.put("brokerRssMiB", Map.of("before", before.brokerRss >> 20, "after", after.brokerRss >> 20));
            mem.put("simulatorLiveHeapMiB", Map.of("before", before.heap >> 20, "after", after.heap >> 20));
            mem.put("simulatorRssMiB", Map.of("before", before.rss >> 20, "after", after.rss >> 20));
            mem.put("connectedWhenMeasured", fleet.connected());
            step.put("memoryIdle", mem);
            step.put("simulatorThreads", Map.of("beforeFleet", threadsBefore, "withFleet", ManagementFactory.getThreadMXBean().getThreadCount()));
            out.info(String.format("%s memory per connection: broker %.1f KiB (Erlang), %.1f KiB (RSS); simulator %.1f KiB heap, %.1f KiB RSS",
                tag, mem.get("brokerErlangPerConnectionKiB"), mem.get("brokerRssPerConnectionKiB"), mem.get("simulatorLiveHeapPerDeviceKiB"),
                mem.get("simulatorRssPerDeviceKiB")));
            fleet.publishEvery(Duration.ofSeconds(intervalSeconds));
          }

          // Warm-up: one interval, so every new device has published at its own phase; then the hold is measured.
          out.info(tag + " warm-up " + intervalSeconds + " s, then " + holdSeconds + " s of steady state ...");
          TimeUnit.SECONDS.sleep(intervalSeconds);
          latencies.reset();
          long p0 = fleet.published();
          long a0 = fleet.acked();
          long f0 = fleet.failed();
          long d0 = fleet.disconnects();
          double hb0 = CpuMeter.processSeconds(broker);
          double hs0 = CpuMeter.ownSeconds();
          CpuMeter.MachineTicks m0 = CpuMeter.machineTicks();
          long h0 = System.nanoTime();
          long end = h0 + TimeUnit.SECONDS.toNanos(holdSeconds);
          while (System.nanoTime() < end) {
            TimeUnit.MILLISECONDS.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            out.progress(String.format("%s connected %d, published %d, acked %d, failed %d", tag, fleet.connected(),
                fleet.published() - p0, fleet.acked() - a0, fleet.failed() - f0));
          }
          double secs = (System.nanoTime() - h0) / 1e9;
          Histogram h = latencies.getIntervalHistogram();
          out.endProgress();
          double[] busy = CpuMeter.machineTicks().sharesSince(m0);
          long published = fleet.published() - p0;
          long acked = fleet.acked() - a0;
          long failed = fleet.failed() - f0;
          long dropped = fleet.disconnects() - d0;
          double p99 = h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(99) / 1e6;
          Map<String, Object> puback = new LinkedHashMap<>();
          puback.put("p50", h.getTotalCount() == 0 ? Double.NaN : Stats.round(h.getValueAtPercentile(50) / 1e6, 1));
          puback.put("p99", Stats.round(p99, 1));
          puback.put("max", Stats.round(h.getMaxValue() / 1e6, 1));
          puback.put("count", h.getTotalCount());
          step.put("pubackMs", puback);
          step.put("readingsPerSec", Math.round(acked / secs));
          step.put("published", published);
          step.put("acked", acked);
          step.put("failedPublishes", failed);
          step.put("droppedConnections", dropped);
          Map<String, Object> cpu = new LinkedHashMap<>();
          cpu.put("brokerCores", Stats.round((CpuMeter.processSeconds(broker) - hb0) / secs, 2));
          cpu.put("simulatorCores", Stats.round((CpuMeter.ownSeconds() - hs0) / secs, 2));
          cpu.put("machineBusyPct", Math.round(busy[0] * 100));
          step.put("cpu", cpu);
          // A broker out of file descriptors cannot accept the management API's connection either: fall back to /proc.
          JsonNode node = nodeStats(api, nodePath);
          // Memory with the fleet publishing: connections grow past their idle size once readings flow.
          Snapshot busyMem = node.has("memory") ? snapshot(node, broker, self)
              : new Snapshot(-1, -1, ProcessMeter.rssBytes(broker), ProcessMeter.liveHeapBytes(), ProcessMeter.rssBytes(self));
          int n = Math.max(1, fleet.connected());
          Map<String, Object> mem = new LinkedHashMap<>();
          mem.put("brokerErlangPerConnectionKiB", busyMem.brokerErlang < 0 ? Double.NaN
              : Stats.round((busyMem.brokerErlang - before.brokerErlang) / 1024.0 / n, 1));
          mem.put("brokerRssPerConnectionKiB", Stats.round((busyMem.brokerRss - before.brokerRss) / 1024.0 / n, 1));
          mem.put("simulatorLiveHeapPerDeviceKiB", Stats.round((busyMem.heap - before.heap) / 1024.0 / n, 1));
          mem.put("simulatorRssPerDeviceKiB", Stats.round((busyMem.rss - before.rss) / 1024.0 / n, 1));
          step.put("memoryPublishing", mem);
          DeviceScale.Resources res = new DeviceScale.Resources(node.path("fd_used").asLong(ProcessMeter.openFds(broker)),
              node.path("fd_total").asLong(ProcessMeter.fdLimit(broker)),
              node.path("sockets_used").asLong(-1), node.path("sockets_total").asLong(-1), node.path("proc_used").asLong(-1),
              node.path("proc_total").asLong(-1), node.path("mem_used").asLong(-1), node.path("mem_limit").asLong(-1),
              ProcessMeter.openFds(self), ProcessMeter.fdLimit(self), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
              Runtime.getRuntime().maxMemory(), busy[0]);
          Map<String, Object> rs = new LinkedHashMap<>();
          rs.put("brokerFds", res.brokerFdUsed() + " / " + res.brokerFdLimit());
          rs.put("brokerSockets", res.brokerSocketsUsed() + " / " + res.brokerSocketsLimit());
          rs.put("brokerErlangProcesses", res.brokerProcUsed() + " / " + res.brokerProcLimit());
          rs.put("brokerMemoryMiB", (res.brokerMemUsed() >> 20) + " / " + (res.brokerMemLimit() >> 20));
          rs.put("brokerRssMiB", ProcessMeter.rssBytes(broker) >> 20);
          rs.put("simulatorFds", res.simulatorFdUsed() + " / " + res.simulatorFdLimit());
          rs.put("simulatorHeapMiB", (res.simulatorHeapUsed() >> 20) + " / " + (res.simulatorHeapMax() >> 20));
          rs.put("simulatorRssMiB", ProcessMeter.rssBytes(self) >> 20);
          step.put("resources", rs);
          DeviceScale.Step st = new DeviceScale.Step(target, c.failed(), dropped, published, acked, failed,
              (double) target * secs / intervalSeconds, p99, node.path("mem_alarm").asBoolean(false));
          DeviceScale.Verdict v = DeviceScale.judge(st, stepNo == 1 ? Double.NaN : bestP99);
          step.put("verdict", v.name());
          steps.add(step);
          out.info(String.format("%s %s: %d readings/s, PUBACK p50 %s / p99 %s ms, broker %.2f cores, simulator %.2f cores, machine %d %% busy; %s",
              tag, v.text, Math.round(acked / secs), puback.get("p50"), puback.get("p99"), cpu.get("brokerCores"), cpu.get("simulatorCores"),
              Math.round(busy[0] * 100), rs));
          if (stepNo == 1) {
            headline = step;
          }
          // The reference is the best p99 so far: one stall in the first step must not make every later step look fine.
          bestP99 = Double.isNaN(bestP99) ? p99 : Math.min(bestP99, p99);
          if (v != DeviceScale.Verdict.HOLDS) {
            stoppedBy = v;
            limit = DeviceScale.limit(res);
            break;
          }
          held = target;
          if (!findMax) {
            break;
          }
          target = DeviceScale.next(target, stepDevices, maxDevices, res.simulatorFdUsed(), res.simulatorFdLimit());
          if (target < 0) {
            stoppedBy = held >= maxDevices ? DeviceScale.Verdict.MAX_REACHED : DeviceScale.Verdict.SIMULATOR_FDS;
            limit = DeviceScale.limit(res);
          }
        }
        out.info("closing " + fleet.size() + " device connections ...");
      }
      r.put("settings", settings());
      r.put("setup", Map.of("stackSeconds", Stats.round(stackSeconds, 1), "enrollment", enrollments,
          "note", "set-up is not part of any figure below: PKI, nodes, topology, certificates and broker users come first"));
      r.put("atDevices", headline);
      if (findMax) {
        Map<String, Object> fm = new LinkedHashMap<>();
        fm.put("largestFleetHeld", held);
        fm.put("stoppedBy", stoppedBy == null ? null : Map.of("verdict", stoppedBy.name(), "why", stoppedBy.text,
            "limit", limit == null ? "no resource near its limit: see the failing step" : limit));
        fm.put("holdsWhen", "every device of the step connected, none dropped, < " + DeviceScale.FAILED_SHARE * 100 + " % of publishes without PUBACK, >= "
            + Math.round(DeviceScale.RATE_SHARE * 100) + " % of the expected readings acknowledged, PUBACK p99 <= max(" + Math.round(DeviceScale.P99_FLOOR_MS)
            + " ms, " + Math.round(DeviceScale.P99_FACTOR) + " x the best p99 of the steps before), no memory alarm");
        r.put("findMax", fm);
      }
      r.put("steps", steps);
    }
    r.put("minutes", Stats.round((System.nanoTime() - t0) / 60e9, 1));
    if (json) {
      out.printJson(r);
    } else {
      for (String k : List.of("command", "machine", "settings", "limits", "setup", "atDevices", "findMax")) {
        if (r.containsKey(k)) {
          System.out.printf("%-10s %s%n", k, r.get(k));
        }
      }
      System.out.printf("%-8s %-9s %-8s %-9s %-9s %-8s %-8s %-6s %s%n", "devices", "conn/s", "failed", "p50 ms", "p99 ms", "broker", "sim", "busy%",
          "verdict");
      @SuppressWarnings("unchecked") List<Map<String, Object>> steps = (List<Map<String, Object>>) r.get("steps");
      for (Map<String, Object> s : steps) {
        @SuppressWarnings("unchecked") Map<String, Object> p = (Map<String, Object>) s.get("pubackMs");
        @SuppressWarnings("unchecked") Map<String, Object> c = (Map<String, Object>) s.get("cpu");
        System.out.printf("%-8s %-9s %-8s %-9s %-9s %-8s %-8s %-6s %s%n", s.get("devices"), s.get("connectionsPerSec"), s.get("connectFailed"),
            p.get("p50"), p.get("p99"), c.get("brokerCores"), c.get("simulatorCores"), c.get("machineBusyPct"), s.get("verdict"));
      }
    }
    return ExitCode.OK;
  }

  private Map<String, Object> settings() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("devices", devices);
    // 3.10's MQTT plugin and 4.0's native MQTT differ by an order of magnitude in memory per connection.
    s.put("rabbitmq", io.iotpipe.broker.RabbitDistribution.selected().toString());
    s.put("credential", credential.name());
    s.put("readingEverySeconds", intervalSeconds);
    s.put("holdSeconds", holdSeconds);
    s.put("warmUpSeconds", intervalSeconds);
    s.put("identity", credential == Enrollment.Credential.CERTIFICATE
        ? "one EC P-256 client certificate per device (CN = device id = broker user), mqtt.ssl_cert_login"
        : "one broker user and random password per device (salted SHA-256 on the broker), sent in MQTT CONNECT over TLS");
    s.put("transport", "MQTT 3.1.1 over TLS (1.3 or 1.2) to the edge's mqtt.listeners.ssl, QoS 1, clean session, keepalive 30 s");
    s.put("client", "vertx-mqtt 5 on Netty: one connection per device, " + eventLoops + " shared event-loop threads");
    s.put("connectParallelism", parallelism);
    s.put("path", "amq.topic -> edge ingress -> lazy edge buffer -> secured shovel -> cloud (no sinks: routed and dropped)");
    if (findMax) {
      s.put("stepDevices", stepDevices);
      s.put("maxDevices", maxDevices);
    }
    return s;
  }

  /** Memory of broker and simulator at one moment. */
  private record Snapshot(long brokerErlang, long brokerConnections, long brokerRss, long heap, long rss) {}

  private static Snapshot snapshot(AdminApi api, String nodePath, long broker, long self) {
    return snapshot(api.require("GET", nodePath, null), broker, self);
  }

  /** The node's statistics, or an empty object when the management API cannot be reached (the step's figures then come from /proc). */
  private JsonNode nodeStats(AdminApi api, String nodePath) {
    try {
      return api.require("GET", nodePath, null);
    } catch (SecurityException e) {
      out.info("management API unreachable (" + e.getMessage() + "): broker figures of this step from /proc");
      return Output.json().createObjectNode();
    }
  }

  private static Snapshot snapshot(JsonNode n, long broker, long self) {
    JsonNode m = n.path("memory");
    long erlang = m.path("total").path("erlang").asLong(-1);
    if (erlang < 0) {
      erlang = n.path("mem_used").asLong(-1);
    }
    long conns = 0;
    for (String k : List.of("connection_readers", "connection_writers", "connection_channels", "connection_other")) {
      conns += m.path(k).asLong(0);
    }
    return new Snapshot(erlang, conns, ProcessMeter.rssBytes(broker), ProcessMeter.liveHeapBytes(), ProcessMeter.rssBytes(self));
  }

  private static String ephemeralPorts() {
    try {
      // readAllLines, not readString: the JDK trusts /proc's file size for readString and gets a truncated text.
      String[] f = java.nio.file.Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim().split("\\s+");
      return f[0] + "-" + f[1] + " (" + (Long.parseLong(f[1]) - Long.parseLong(f[0]) + 1) + " client sockets to one broker port)";
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
