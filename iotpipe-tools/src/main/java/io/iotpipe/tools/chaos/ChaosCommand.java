package io.iotpipe.tools.chaos;

import io.iotpipe.testkit.chaos.ChaosScenarios;

import io.iotpipe.testkit.LocalStack;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.lake.LakeAudit;
import io.iotpipe.lake.LakeSection;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe chaos}: each scenario runs a fleet against the whole pipeline on local nodes, injects one fault,
 * lets the system recover by itself, then audits both sinks against what the fleet had confirmed. A reading is lost
 * when it was confirmed to its device and is in neither its sink nor a dead-letter queue.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    description = "Fault scenarios under load on local nodes, each audited: lost and duplicated readings per sink, time to recover.")
public final class ChaosCommand implements IotpipeCommand, Callable<Integer> {

  static final List<String> ALL = ChaosScenarios.ALL;

  @Option(names = "--scenario", split = ",", description = "Scenarios to run (default: all): ${COMPLETION-CANDIDATES}",
      completionCandidates = Names.class)
  List<String> scenarios;

  @Option(names = "--short", description = "Shorter outages and load (the variant the test suite runs).")
  boolean quick;

  @Option(names = "--dir", description = "Work directory (default: data/chaos-<random>).")
  Path dir;

  @Option(names = "--json", description = "Print the table as JSON.")
  boolean json;

  @Option(names = "--observability", description = "A real Prometheus (Debian package `prometheus`) with the SLO rules watches each"
      + " scenario (real windows, for: 10s): every row says which burn-rate alerts fired, seconds after the fault, and when they"
      + " resolved, seconds after recovery (sink-lost is always watched).")
  boolean observability;

  static final class Names extends ArrayList<String> {
    Names() {
      super(ALL);
    }
  }

  private final Output out = new Output();


  @Override
  public Integer call() throws Exception {
    List<String> run = scenarios == null || scenarios.isEmpty() ? ALL : scenarios;
    for (String s : run) {
      if (!ALL.contains(s)) {
        throw new io.iotpipe.cli.CommandFailure(ExitCode.USAGE, "unknown scenario " + s + " (known: " + ALL + ")");
      }
    }
    Path base = (dir != null ? dir : Path.of("data", "chaos-" + UUID.randomUUID().toString().substring(0, 6))).toAbsolutePath();
    List<ChaosScenarios.Row> rows = new ArrayList<>();
    ChaosScenarios chaos = new ChaosScenarios(quick, observability, out::info)
        .withLakeAudit((cfg, ledger) -> LakeAudit.audit(cfg.section(LakeSection.SECTION), ledger));
    List<String> single = run.stream().filter(s -> !s.equals("leader-kill") && !s.equals("cloud-partition") && !ChaosScenarios.LAKE.contains(s)).toList();
    List<String> lake = run.stream().filter(ChaosScenarios.LAKE::contains).toList();
    if (!single.isEmpty()) {
      try (LocalStack stack = LocalStack.start(base.resolve("c1"), 1, 4, "  rollAge: 3s", true, out::info)) {
        for (String s : single) {
          rows.add(switch (s) {
            case "region-outage" -> chaos.regionOutage(stack);
            case "rush-hour" -> chaos.rushHour(stack);
            case "sink-lost" -> chaos.sinkLost(stack);
            case "spoofing" -> chaos.spoofing(stack);
            case "firmware-rollout" -> chaos.firmwareRollout(stack);
            case "firmware-rollout-strict" -> chaos.firmwareRolloutStrict(stack);
            case "wan-cut-planned" -> chaos.wanCutPlanned(stack);
            default -> chaos.scenario(stack, s);
          });
        }
      }
    }
    if (!lake.isEmpty()) {
      // the lake's scenarios on a stack of their own with an S3 API server, so the others keep their two sinks
      try (LocalStack stack = LocalStack.start(base.resolve("c-lake"), 1, 4, "  rollAge: 3s", true, null, LocalStack.Security.INSECURE,
          true, out::info)) {
        for (String s : lake) {
          rows.add(chaos.lake(stack, s));
        }
      }
    }
    if (run.contains("leader-kill")) {
      try (LocalStack stack = LocalStack.start(base.resolve("c3"), 3, 4, "  rollAge: 3s", true, out::info)) {
        rows.add(chaos.scenario(stack, "leader-kill"));
      }
    }
    if (run.contains("cloud-partition")) {
      // its cloud nodes each in a network namespace of their own, so one can be cut off (needs root and ip netns)
      try (LocalStack stack = LocalStack.startPartitionable(base.resolve("c-partition"), 3, 4, "  rollAge: 3s", out::info)) {
        rows.add(chaos.cloudPartition(stack));
      }
    }
    boolean ok = rows.stream().allMatch(ChaosScenarios.Row::ok);
    if (json) {
      out.printJson(Map.of("rows", rows, "ok", ok, "command", "./iotpipe chaos" + (quick ? " --short" : "")));
    } else {
      System.out.printf("%-20s %9s %9s %9s %9s %9s %6s %6s %9s %9s  %s%n", "scenario", "published", "confirmed", "in ES", "in store",
          "dead-lett", "lost", "dups", "1st ack s", "caught s", "note");
      for (ChaosScenarios.Row r : rows) {
        System.out.printf("%-20s %9d %9d %9d %9d %9d %6d %6d %9.1f %9.1f  %s%n", r.scenario(), r.published(), r.confirmed(), r.inSearch(),
            r.inStore(), r.deadLettered(), r.lost(), r.duplicates(), r.firstAckSeconds(), r.caughtUpSeconds(), r.note());
        if (!r.failed().isEmpty()) {
          System.out.printf("%-20s FAILED: %s%n", "", r.failed());
        }
        if (!r.alerts().isEmpty()) {
          System.out.printf("%-20s alerts (fired: after the fault began; resolved: after recovery): %s%n", "", r.alerts());
        }
      }
      System.out.println(ok ? "every scenario: nothing lost, nothing doubled" + (run.contains("spoofing") ? ", no spoofed reading accepted" : "")
          : "FAILED: see lost/dups and FAILED lines (spoofing: the note's forged-reading counts)");
      System.out.println("1st ack s: fault over (process restarted, engine back, link healed) -> first message acked by the"
          + " hit sink; caught s: -> its queues hold at most one second of traffic more than before the fault (region-outage: failover and failback times;"
          + " rush-hour: drain time; sink-lost: see the note; cloud-partition: from the heal; spoofing: on the secured stack, see the note; lake-*: of the lake role, its"
          + " table's count, lost and duplicates in the note and in the totals)");
      if (rows.stream().anyMatch(r -> !r.alerts().isEmpty())) {
        System.out.println("alerts: burn-rate alerts of the SLO rules with their real windows (page 1h/5m at 14.4x, 6h/30m at 6x;"
            + " ticket 1d/2h at 3x, 3d/6h at 1x), for: 10s; a short fault may fire none, and a page needs its 5 m window"
            + " to forget the fault before it resolves");
      }
    }
    return ok ? ExitCode.OK : ExitCode.FAILED;
  }
}
