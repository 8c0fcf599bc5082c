package io.iotpipe.cli.topology;

import io.iotpipe.topology.Change;
import io.iotpipe.topology.Plan;
import io.iotpipe.topology.TopologyPlanner;

import io.iotpipe.cli.ConfigOption;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import io.iotpipe.core.config.IotpipeConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code iotpipe topology plan|apply|export}: the pipeline's exchanges, queues, bindings and shovels, and with
 * {@code security:} its users and permissions, declared from the config (or exported as definitions, {@link ExportCmd}).
 */
@Command(name = "topology", mixinStandardHelpOptions = true,
    description = "Show (plan), declare (apply) or export as definitions (export) the RabbitMQ topology of every broker in the config.",
    subcommands = {TopologyCommand.PlanCmd.class, TopologyCommand.Apply.class, ExportCmd.class})
public final class TopologyCommand implements IotpipeCommand, Runnable {

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  @Command(name = "plan", mixinStandardHelpOptions = true,
      description = "Compare the config with each broker and list what apply would create (+), update (~), delete (-) or refuse (! conflict).")
  static final class PlanCmd implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--json", description = "Print the plan as JSON.")
    boolean json;

    @Override
    public Integer call() {
      IotpipeConfig cfg = config.load();
      Plan plan = new TopologyPlanner().plan(cfg);
      if (json) {
        new Output().printJson(plan.toJson());
      } else {
        System.out.print(plan.render());
      }
      return plan.conflicts().isEmpty() ? ExitCode.OK : ExitCode.FAILED;
    }
  }

  @Command(name = "apply", mixinStandardHelpOptions = true,
      description = "Declare what is missing on every broker (idempotent: a second apply changes nothing). Refuses, "
          + "declaring nothing, when an existing object conflicts.")
  static final class Apply implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
      IotpipeConfig cfg = config.load();
      TopologyPlanner planner = new TopologyPlanner();
      Plan plan = planner.plan(cfg);
      int sent = planner.apply(cfg, plan);
      if (json) {
        Map<String, Object> r = new LinkedHashMap<>(plan.toJson());
        r.put("applied", sent);
        new Output().printJson(r);
      } else {
        plan.byBroker().forEach((b, changes) -> changes.stream()
            .filter(Change::pending)
            .forEach(c -> System.out.println(b + ": " + c.describe())));
        System.out.println(sent == 0 ? "no changes: the brokers already match the configuration"
            : "applied " + sent + " changes (" + plan.count(Change.Action.UNCHANGED) + " already in place)");
      }
      return ExitCode.OK;
    }
  }
}
