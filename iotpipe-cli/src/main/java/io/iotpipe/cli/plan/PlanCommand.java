package io.iotpipe.cli.plan;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.ConfigUnits;
import io.iotpipe.capacity.MeasuredProfile;
import io.iotpipe.capacity.CapacityPlanner;
import io.iotpipe.capacity.CapacityProfile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code iotpipe plan}: bandwidth, brokers, partitions, instances, disks and edge buffers for a fleet. */
@Command(name = "plan", mixinStandardHelpOptions = true,
    description = {"Capacity plan for a fleet: bandwidth per edge site and region (with protocol, TLS and TCP/IP framing), peak"
        + " msg/s, partitions, RabbitMQ nodes, indexer/store instances, search nodes and disk, store bytes, and the edge buffer"
        + " that rides through a WAN outage.",
        "Constants come from a profile (--profile; default: the reference profile measured on the project's machines);"
            + " every line names the constants that drove it."})
public final class PlanCommand implements IotpipeCommand, Callable<Integer> {

  @Option(names = "--devices", description = "Number of devices (required, except with --check-profile).")
  long devices;

  @Option(names = "--interval", defaultValue = "10s", description = "One reading per device every INTERVAL (default: ${DEFAULT-VALUE}).")
  String interval;

  @Option(names = "--payload", defaultValue = "250B", description = "Bytes of one reading's JSON (default: ${DEFAULT-VALUE}).")
  String payload;

  @Option(names = "--peak", defaultValue = "3x", description = "Peak-to-average factor, e.g. 3x (default: ${DEFAULT-VALUE}).")
  String peak;

  @Option(names = "--regions", defaultValue = "all:1", description = "Regions and their share of the fleet, e.g. eu:0.5,us:0.3,ap:0.2 (default: ${DEFAULT-VALUE}).")
  String regions;

  @Option(names = "--retention", defaultValue = "90d", description = "How long files and search indices are kept (default: ${DEFAULT-VALUE}).")
  String retention;

  @Option(names = "--replicas", defaultValue = "1", description = "Spare instances per role and search index replicas (default: ${DEFAULT-VALUE}).")
  int replicas;

  @Option(names = "--ride-through", defaultValue = "2h", description = "WAN outage the edge buffers through at peak rate (default: ${DEFAULT-VALUE}).")
  String rideThrough;

  @Option(names = "--protocol", defaultValue = "amqp", description = "How devices publish: amqp or mqtt (default: ${DEFAULT-VALUE}).")
  CapacityPlanner.Protocol protocol;

  @Option(names = "--no-tls", description = "Plain TCP on device and WAN links (default: TLS).")
  boolean noTls;

  @Option(names = "--sinks", defaultValue = "2", description = "Sink queues per partition (default: ${DEFAULT-VALUE}: elk, storage).")
  int sinks;

  @Option(names = "--profile", paramLabel = "FILE", description = "CapacityProfile of constants (JSON or YAML), e.g. one saved by bench.")
  Path profile;

  @Option(names = "--json", description = "Print the plan as JSON.")
  boolean json;

  @Option(names = "--check-profile", paramLabel = "BENCH_FILE", description = "Instead of a plan: does the profile predict this"
      + " machine? Compares its per-worker constants (indexer and store msg/s per instance, Parquet bytes per row) with what"
      + " `bench index|store --save-profile BENCH_FILE` measured: predicted, measured, ratio; exit 1 when one is off by more than ±25 %.")
  Path checkProfile;

  @Override
  public Integer call() {
    if (checkProfile != null) {
      return check(profile());
    }
    CapacityPlanner.Input in;
    try {
      in = new CapacityPlanner.Input(devices, duration("--interval", interval), bytes("--payload", payload), factor(peak),
          shares(regions), duration("--retention", retention), replicas, duration("--ride-through", rideThrough), protocol,
          !noTls, sinks);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    CapacityProfile prof = profile();
    CapacityPlanner.Plan plan = CapacityPlanner.plan(in, prof);
    if (json) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("profile", plan.profile());
      out.put("input", plan.input());
      Map<String, Double> figures = new LinkedHashMap<>();
      plan.lines().forEach(l -> figures.put(l.key(), l.value()));
      out.put("figures", figures);
      out.put("lines", plan.lines());
      Map<String, Object> constants = new LinkedHashMap<>();
      prof.constants().forEach((k, c) -> constants.put(k, c));
      out.put("constants", constants);
      new Output().printJson(out);
    } else {
      System.out.print(CapacityPlanner.text(plan));
    }
    return ExitCode.OK;
  }

  private CapacityProfile profile() {
    if (profile == null) {
      return CapacityProfile.reference();
    }
    if (!Files.exists(profile)) {
      throw new CommandFailure(ExitCode.USAGE, "profile " + profile.toAbsolutePath() + " does not exist");
    }
    try {
      return CapacityProfile.load(profile);
    } catch (CapacityProfile.ProfileException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
  }

  /** The profile's per-worker figures against a bench measurement (issue 13: "show that it predicts"). */
  private int check(CapacityProfile predicted) {
    if (!Files.exists(checkProfile)) {
      throw new CommandFailure(ExitCode.USAGE, "bench profile " + checkProfile.toAbsolutePath() + " does not exist:"
          + " measure it with ./iotpipe bench index --save-profile " + checkProfile + " (and bench store)");
    }
    MeasuredProfile measured;
    try {
      var root = Output.json().readTree(checkProfile.toFile());
      if (!MeasuredProfile.isBenchProfile(root)) {
        throw new CommandFailure(ExitCode.USAGE, checkProfile + " is not a file bench --save-profile wrote (schema "
            + MeasuredProfile.SCHEMA + "); to plan with a profile of constants use --profile");
      }
      measured = MeasuredProfile.parse(checkProfile.toString(), root);
    } catch (java.io.IOException e) {
      throw new CommandFailure(ExitCode.USAGE, "cannot read " + checkProfile + ": " + e.getMessage());
    } catch (CapacityProfile.ProfileException e) {
      throw new CommandFailure(ExitCode.USAGE, e.getMessage());
    }
    var checks = measured.check(predicted);
    boolean ok = checks.stream().allMatch(MeasuredProfile.Check::withinBand);
    if (json) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("profile", predicted.name());
      out.put("band", MeasuredProfile.BAND);
      out.put("checks", checks);
      out.put("machineBusy", measured.busy());
      out.put("withinBand", ok);
      new Output().printJson(out);
    } else {
      System.out.print(MeasuredProfile.text(predicted.name(), checks));
      System.out.println(ok ? "the profile predicts these measurements within ±25 %"
          : "NOT within ±25 %: plan with the measured constants (--profile " + checkProfile + ") or re-measure on a quiet machine"
              + (measured.busy().startsWith("yes") ? " (bench says the machine was busy)" : ""));
    }
    return ok ? ExitCode.OK : ExitCode.FAILED;
  }

  private static Duration duration(String option, String v) {
    Duration d = ConfigUnits.parseDuration(v);
    if (d == null) {
      throw new IllegalArgumentException(option + ": expected a duration like 10s, 5m, 2h or 90d, was \"" + v + "\"");
    }
    return d;
  }

  private static long bytes(String option, String v) {
    Long b = ConfigUnits.parseBytes(v);
    if (b == null) {
      throw new IllegalArgumentException(option + ": expected a size like 250B or 2KiB, was \"" + v + "\"");
    }
    return b;
  }

  private static double factor(String v) {
    String s = v.trim().toLowerCase(Locale.ROOT);
    try {
      return Double.parseDouble(s.endsWith("x") ? s.substring(0, s.length() - 1) : s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--peak: expected a factor like 3x, was \"" + v + "\"");
    }
  }

  static Map<String, Double> shares(String v) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (String part : v.split(",")) {
      String[] kv = part.trim().split(":");
      try {
        if (kv.length != 2 || kv[0].isBlank() || m.put(kv[0].trim(), Double.parseDouble(kv[1].trim())) != null) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--regions: expected name:share pairs with unique names, e.g. eu:0.5,us:0.3,ap:0.2; was \"" + v + "\"");
      }
    }
    return m;
  }
}
