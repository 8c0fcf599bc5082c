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
import java.util.List;
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
      List<Map<String, Object>> search = searchPlan(cfg);
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>(plan.toJson());
        if (!search.isEmpty()) {
          m.put("search", search);
        }
        new Output().printJson(m);
      } else {
        System.out.print(plan.render());
        if (!search.isEmpty()) {
          System.out.println("search engine " + cfg.indexer().urls().getFirst() + " (tenants in " + io.iotpipe.core.tenant.TenantsSection.registry(cfg).file() + "):");
          search.forEach(c -> System.out.println("  " + c.get("line")));
        }
      }
      return plan.conflicts().isEmpty() ? ExitCode.OK : ExitCode.FAILED;
    }
  }

  /**
   * The search-side objects of the tenants in the registry: each tenant's role (read on its indices only), as the
   * engine has it, and its indices (made by the indexer from the templates). Asked with the indexer's credentials:
   * reading roles needs read_security / manage_security, so a least-privilege indexer sees "not checked".
   */
  static List<Map<String, Object>> searchPlan(IotpipeConfig cfg) {
    io.iotpipe.core.tenant.TenantRegistry registry = io.iotpipe.core.tenant.TenantsSection.registry(cfg);
    if (registry == null) {
      return List.of();
    }
    java.util.SortedSet<String> tenants = new java.util.TreeSet<>(registry.devices().values());
    List<Map<String, Object>> out = new java.util.ArrayList<>();
    try (io.iotpipe.elasticsearch.EsClient client = new io.iotpipe.elasticsearch.EsClient(cfg.indexer())) {
      io.iotpipe.elasticsearch.TenantAccess access = null;
      RuntimeException notAsked = null;
      try {
        access = io.iotpipe.elasticsearch.TenantAccess.of(client, cfg.indexer());
      } catch (RuntimeException e) {
        notAsked = e; // said per tenant below, as "not checked"
      }
      for (String t : tenants) {
        Map<String, Object> c = new LinkedHashMap<>();
        String indices = String.join(", ", io.iotpipe.elasticsearch.TenantIndices.patterns(cfg.indexer(), t));
        c.put("tenant", t);
        c.put("role", io.iotpipe.elasticsearch.TenantIndices.role(cfg.indexer(), t));
        c.put("indices", io.iotpipe.elasticsearch.TenantIndices.patterns(cfg.indexer(), t));
        String state;
        String line;
        try {
          if (access == null) {
            throw notAsked;
          }
          io.iotpipe.elasticsearch.TenantAccess.RoleState rs = access.state(t);
          state = !rs.exists() ? "create" : rs.matches() ? "unchanged" : "update";
          line = switch (state) {
            case "create" -> "+ role " + rs.role() + ": read " + indices + "  (iotpipe tenant add " + t + " creates it and its user)";
            case "update" -> "~ role " + rs.role() + " differs from: read " + indices + "  (iotpipe tenant add " + t + " brings it back)";
            default -> "= role " + rs.role() + ": read " + indices;
          };
        } catch (RuntimeException e) {
          state = "unknown";
          line = "? role " + io.iotpipe.elasticsearch.TenantIndices.role(cfg.indexer(), t) + ": read " + indices + "  (not checked: "
              + io.iotpipe.core.Reasons.sanitize(e.getMessage(), 200) + ")";
        }
        c.put("action", state);
        c.put("line", line);
        out.add(c);
      }
    }
    return out;
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
