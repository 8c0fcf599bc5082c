package io.iotpipe.tools.bench;

import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.Output;
import io.iotpipe.testkit.LocalStack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe bench scaling}: the end-to-end ramp, with short steps, for each number of partitions and of
 * processes per role, on one set of local nodes; the table says how far each got and what stopped it.
 */
@Command(name = "scaling", mixinStandardHelpOptions = true, sortOptions = false,
    description = "The e2e ramp with short steps over partitions x instances per role: sustained rate and what stopped it.")
final class ScalingCommand implements Callable<Integer> {

  @Option(names = "--partitions", split = ",", defaultValue = "1,2,4,8", description = "Partition counts (default: ${DEFAULT-VALUE}).")
  List<Integer> partitions;

  @Option(names = "--instances", split = ",", defaultValue = "1,2", description = "Processes per role (default: ${DEFAULT-VALUE}).")
  List<Integer> instances;

  @Option(names = "--xmx", defaultValue = "256m", description = "Heap cap of each role process, or 'default' (default: ${DEFAULT-VALUE}).")
  String xmx;

  @Option(names = "--start-rate", defaultValue = "1500", description = "Readings/s of the first step (default: ${DEFAULT-VALUE}).")
  double startRate;

  @Option(names = "--factor", defaultValue = "1.5", description = "Rate multiplier per step (default: ${DEFAULT-VALUE}).")
  double factor;

  @Option(names = "--step", defaultValue = "8", description = "Seconds per step (default: ${DEFAULT-VALUE}).")
  int stepSeconds;

  @Option(names = "--max-steps", defaultValue = "10", description = "Most steps per configuration (default: ${DEFAULT-VALUE}).")
  int maxSteps;

  @Option(names = "--devices", defaultValue = "500", description = "Simulated devices (default: ${DEFAULT-VALUE}).")
  int devices;

  @Option(names = "--roll-age-ms", defaultValue = "2000", description = {"storage.rollAge of the benchmarked pipeline in ms (default: ${DEFAULT-VALUE}).",
      "The config default (60 s) makes a file wait a minute at low rates: the ramp could not tell waiting from falling behind."})
  long rollAgeMs;

  @Option(names = "--dir", description = "Work directory (default: data/bench-scaling-<random>).")
  Path dir;

  @Option(names = "--json", description = "Print the table as JSON.")
  boolean json;

  private final Output out = new Output();

  @Override
  public Integer call() throws Exception {
    if (partitions.isEmpty() || instances.isEmpty() || partitions.stream().anyMatch(p -> p < 1) || instances.stream().anyMatch(i -> i < 1)
        || factor <= 1 || stepSeconds < 4) {
      System.err.println("need partitions and instances >= 1, --factor > 1, --step >= 4");
      return ExitCode.USAGE;
    }
    Path base = dir != null ? dir : Path.of("data", "bench-scaling-" + UUID.randomUUID().toString().substring(0, 6));
    int configs = partitions.size() * instances.size();
    out.info(String.format("scaling: %d configurations, each a ramp of %d s steps (x%.1f from %.0f/s); about %d-%d min in all", configs,
        stepSeconds, factor, startRate, configs * (stepSeconds * 4 + 20) / 60, configs * (stepSeconds * 8 + 40) / 60));
    List<Map<String, Object>> rows = new ArrayList<>();
    long t0 = System.nanoTime();
    try (LocalStack stack = LocalStack.start(base.toAbsolutePath(), 1, partitions.getFirst(), "", true, out::info)) {
      E2eBench bench = new E2eBench(stack, out);
      int k = 0;
      for (int p : partitions) {
        for (int i : instances) {
          k++;
          String label = String.format("[%d/%d] %d partitions, %d per role", k, configs, p, i);
          E2eBench.Settings s = new E2eBench.Settings(p, i, xmx.equalsIgnoreCase("default") ? null : xmx, startRate, factor,
              Duration.ofSeconds(stepSeconds), maxSteps, devices, Duration.ofSeconds(stepSeconds), Duration.ofMillis(rollAgeMs));
          E2eBench.Round r = bench.round("sc" + p + "x" + i + UUID.randomUUID().toString().substring(0, 3), s, false, label);
          E2eBench.Interval last = r.steps().getLast();
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("partitions", p);
          row.put("instancesPerRole", i);
          row.put("sustainedReadingsPerSec", Math.round(r.sustained()));
          row.put("endedBy", r.endedBy().name());
          row.put("limit", r.limiter());
          row.put("lastStep", last.toJson());
          rows.add(row);
          out.info(String.format("%s: sustained %.0f/s, stopped by %s; %.1f min so far", label, r.sustained(), r.limiter(),
              (System.nanoTime() - t0) / 60e9));
        }
      }
    }
    Map<String, Object> res = new LinkedHashMap<>();
    res.put("command", "./iotpipe bench scaling --partitions " + join(partitions) + " --instances " + join(instances) + " --xmx " + xmx
        + " --start-rate " + Math.round(startRate) + " --factor " + factor + " --step " + stepSeconds);
    res.put("machine", MeasuredProfileFile.machine());
    res.put("minutes", Stats.round((System.nanoTime() - t0) / 60e9, 1));
    res.put("rows", rows);
    if (json) {
      out.printJson(res);
    } else {
      System.out.printf("%-10s %-9s %-12s %-16s %-6s %-6s %s%n", "partitions", "per role", "readings/s", "ended by", "busy%", "iowait", "limit");
      for (Map<String, Object> row : rows) {
        @SuppressWarnings("unchecked")
        Map<String, Object> last = (Map<String, Object>) row.get("lastStep");
        System.out.printf("%-10s %-9s %-12s %-16s %-6s %-6s %s%n", row.get("partitions"), row.get("instancesPerRole"),
            row.get("sustainedReadingsPerSec"), row.get("endedBy"), last.get("machineBusyPct"), last.get("ioWaitPct"), row.get("limit"));
      }
    }
    return ExitCode.OK;
  }

  private static String join(List<Integer> xs) {
    return String.join(",", xs.stream().map(String::valueOf).toList());
  }
}
