package io.iotpipe.tools.broker;

import io.iotpipe.broker.LocalDeployment;
import io.iotpipe.broker.LocalNode;

import io.iotpipe.cli.CommandFailure;
import io.iotpipe.cli.ExitCode;
import io.iotpipe.cli.IotpipeCommand;
import io.iotpipe.cli.Output;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code iotpipe broker start|stop|status}: local RabbitMQ nodes (an edge and a cloud cluster) for trying iotpipe. */
@Command(name = "broker", mixinStandardHelpOptions = true,
    description = "Start, stop or inspect local RabbitMQ nodes (edge + cloud cluster) from the installed rabbitmq-server.",
    subcommands = {BrokerCommand.Start.class, BrokerCommand.Stop.class, BrokerCommand.Status.class})
public final class BrokerCommand implements IotpipeCommand, Runnable {

  /** The config written next to the nodes, ready for {@code --config}. */
  public static final String CONFIG_FILE = "iotpipe.local.yaml";

  @Override
  public void run() {
    picocli.CommandLine.usage(this, System.out);
  }

  abstract static class Base {
    @Option(names = "--dir", defaultValue = "data/brokers", description = "Where the nodes keep their data (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    final Output out = new Output();

    /** The nodes in {@code --dir}: plain ones there, secured ones (broker start --secure) under {@code nodes/} beside the PKI. */
    LocalDeployment attach() {
      Path secured = dir.resolve("nodes");
      return LocalDeployment.attach(Files.exists(secured.resolve(LocalDeployment.STATE_FILE)) ? secured : dir);
    }

    Map<String, Object> describe(LocalDeployment d) {
      Map<String, Object> m = new LinkedHashMap<>();
      List<Map<String, Object>> nodes = new ArrayList<>();
      List<LocalNode> all = new ArrayList<>();
      all.add(d.edge());
      all.addAll(d.cloud().nodes());
      for (LocalNode n : all) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("role", n == d.edge() ? "edge" : "cloud");
        o.put("node", n.nodeName());
        o.put("running", n.isRunning());
        o.put("pid", n.pid());
        o.put("amqp", n.amqpUri().toString());
        o.put("management", n.managementUri().toString());
        if (n.spec().mqtt()) {
          o.put("mqtt", (n.secure() ? "ssl" : "tcp") + "://127.0.0.1:" + n.mqttPort());
        }
        nodes.add(o);
      }
      m.put("dir", dir.toAbsolutePath().toString());
      m.put("config", dir.resolve(CONFIG_FILE).toAbsolutePath().toString());
      m.put("secure", d.edge().secure());
      m.put("rabbitmq", d.distribution().id());
      m.put("nodes", nodes);
      return m;
    }

    void print(Map<String, Object> m) {
      if (json) {
        out.printJson(m);
        return;
      }
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> nodes = (List<Map<String, Object>>) m.get("nodes");
      System.out.printf("%-6s %-28s %-8s %-8s %-26s %-26s%n", "ROLE", "NODE", "RUNNING", "PID", "AMQP", "MANAGEMENT");
      for (Map<String, Object> n : nodes) {
        System.out.printf("%-6s %-28s %-8s %-8s %-26s %-26s%s%n", n.get("role"), n.get("node"), n.get("running"), n.get("pid"),
            n.get("amqp"), n.get("management"), n.containsKey("mqtt") ? " mqtt " + n.get("mqtt") : "");
      }
      System.out.println("config: " + m.get("config"));
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true, description = "Start an edge node and a cloud cluster; writes "
      + CONFIG_FILE + " for them into --dir.")
  static final class Start extends Base implements Callable<Integer> {
    @Option(names = "--cloud-nodes", defaultValue = "1", description = "Cloud cluster size: 1 or 3 (default: ${DEFAULT-VALUE}).")
    int cloudNodes;

    @Option(names = "--partitions", defaultValue = "4", description = "Partitions in the generated config (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--secure", description = {"Secured nodes: a fleet PKI in --dir/pki, TLS-only listeners, no guest, the administrator and",
        "the service accounts (shovel, elk, storage); the topology is applied and the shovel runs as its own account over amqps.",
        "The generated config reads the administrator's password from $IOTPIPE_BROKER_PASSWORD (its 0600 file is printed, never the password)."})
    boolean secure;

    @Option(names = "--rabbitmq", description = {"Which RabbitMQ: 4.0 (Debian trixie's, from the root scripts/rabbitmq4-root.sh makes;",
        "./iotpipe makes it when needed) or 3.10 (the host's rabbitmq-server). Default: $IOTPIPE_RABBITMQ, else 4.0."})
    String rabbitmq;

    @Override
    public Integer call() {
      if (rabbitmq != null) {
        try {
          io.iotpipe.broker.RabbitDistribution.of(rabbitmq);
        } catch (io.iotpipe.broker.BrokerException e) {
          throw new CommandFailure(ExitCode.USAGE, e.getMessage());
        }
        // every node this process starts (plain or secured stack) reads the one setting
        System.setProperty("iotpipe.rabbitmq", rabbitmq);
      }
      if (secure) {
        return startSecure();
      }
      if (cloudNodes != 1 && cloudNodes != 3) {
        throw new CommandFailure(ExitCode.USAGE, "--cloud-nodes must be 1 or 3 (a 2-node cluster cannot keep a quorum when one node fails)");
      }
      refuseIfRunning();
      out.info("starting an edge node and a " + cloudNodes + "-node cloud cluster in " + dir.toAbsolutePath() + " ...");
      LocalDeployment d = LocalDeployment.start(dir, cloudNodes);
      try {
        Files.writeString(d.dir().resolve(CONFIG_FILE), d.configYaml(partitions, null));
      } catch (IOException e) {
        d.close();
        throw new UncheckedIOException(e);
      }
      print(describe(d));
      out.info("next: ./iotpipe topology apply --config " + dir.resolve(CONFIG_FILE));
      return ExitCode.OK;
    }

    private void refuseIfRunning() {
      if (Files.exists(dir.resolve(LocalDeployment.STATE_FILE)) || Files.exists(dir.resolve("nodes").resolve(LocalDeployment.STATE_FILE))) {
        LocalDeployment old = attach();
        if (old.edge().isRunning() || old.cloud().nodes().stream().anyMatch(LocalNode::isRunning)) {
          throw new CommandFailure(ExitCode.USAGE, "local brokers are already running in " + dir.toAbsolutePath()
              + " (see: ./iotpipe broker status --dir " + dir + "; stop them with: ./iotpipe broker stop --dir " + dir + ")");
        }
      }
    }

    private Integer startSecure() {
      if (cloudNodes != 1 && cloudNodes != 3) {
        throw new CommandFailure(ExitCode.USAGE, "--cloud-nodes must be 1 or 3 (a 2-node cluster cannot keep a quorum when one node fails)");
      }
      refuseIfRunning();
      out.info("starting a secured edge node and a " + cloudNodes + "-node cloud cluster (TLS only, no guest) in " + dir.toAbsolutePath() + " ...");
      io.iotpipe.security.SecureLocalStack s = io.iotpipe.security.SecureLocalStack.start(dir, cloudNodes, "iotpipe", List.of("elk", "storage"));
      try {
        Path cfgFile = dir.resolve(CONFIG_FILE);
        Files.writeString(cfgFile, s.configYaml(s.adminUser(), partitions, null));
        for (String sink : List.of("elk", "storage")) {
          String account = io.iotpipe.topology.ServiceAccounts.sink(new io.iotpipe.core.config.Names("iotpipe"), sink);
          Files.writeString(dir.resolve(CONFIG_FILE.replace(".yaml", "." + sink + ".yaml")), s.configYaml(account, partitions, null));
        }
        io.iotpipe.core.config.IotpipeConfig cfg = io.iotpipe.core.config.IotpipeConfig.load(cfgFile, s.env(s.adminUser()));
        io.iotpipe.topology.TopologyPlanner planner = new io.iotpipe.topology.TopologyPlanner();
        planner.apply(cfg, planner.plan(cfg));
        int shovels = s.shovelUsers(cfg).size();
        print(describe(s.nodes()));
        Path passwords = s.enrollment().passwordFile(s.adminUser()).getParent();
        out.info("topology applied; " + shovels + " shovel(s) run as " + io.iotpipe.topology.ServiceAccounts.shovel(cfg.topology().names())
            + " over amqps with peer verification");
        out.info("next: export " + io.iotpipe.security.SecureLocalStack.PASSWORD_ENV + "=\"$(cat " + passwords.resolve(s.adminUser() + ".password")
            + ")\"   (the administrator; the roles: " + CONFIG_FILE.replace(".yaml", ".elk.yaml") + " / .storage.yaml with iotpipe-elk / iotpipe-storage's files in " + passwords + ")");
        out.info("      ./iotpipe device enroll --pki " + dir.resolve("pki") + " --config " + cfgFile + " --fleet 10");
        return ExitCode.OK;
      } catch (IOException e) {
        s.close();
        throw new UncheckedIOException(e);
      } catch (RuntimeException e) {
        s.close();
        throw e;
      }
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop the nodes started by broker start (nothing is left running).")
  static final class Stop extends Base implements Callable<Integer> {
    @Override
    public Integer call() {
      LocalDeployment d = attach();
      d.close();
      print(describe(d));
      return ExitCode.OK;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the local nodes, their ports and whether they run.")
  static final class Status extends Base implements Callable<Integer> {
    @Override
    public Integer call() {
      print(describe(attach()));
      return ExitCode.OK;
    }
  }
}
