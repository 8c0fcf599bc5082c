package io.iotpipe.testkit.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.broker.LocalNode;
import io.iotpipe.broker.NodeNetwork;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.testkit.LocalStack;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code cloud-partition}: a network partition inside the cloud cluster under load. The stack's three cloud nodes live
 * in network namespaces of their own on one bridge ({@link NodeNetwork}); the node leading the most sink queues is cut
 * off from the other two and from every client (its end of the bridge down: packets dropped silently both ways) for
 * 60 s (30 s with {@code --short}) while readings flow, then the link is healed. The nodes run
 * {@code cluster_partition_handling = pause_minority} with {@code net_ticktime} 15 s (see {@link LocalNode}).
 *
 * <p>The row says which side kept serving: the quorum queues' leaders before, during (asked from the majority) and
 * after; what the sinks acked while the node was cut off; when the cut-off node paused itself (its own log
 * line) and when the cluster was whole again (every node running, no partition reported, every sink queue's
 * members online). It fails unless the majority kept serving and the cluster converged; lost and duplicates are
 * counted in both sinks against what the devices had confirmed, as in every scenario.
 */
final class CloudPartition {

  private static final ObjectMapper JSON = new ObjectMapper();

  private CloudPartition() {}

  static ChaosScenarios.Row run(LocalStack stack, boolean quick, Consumer<String> log) throws Exception {
    NodeNetwork net = stack.brokers().cloud().network();
    List<LocalNode> nodes = stack.brokers().cloud().nodes();
    if (net == null || nodes.size() < 3) {
      throw new IllegalStateException("cloud-partition needs a stack of 3 cloud nodes in network namespaces (LocalStack.startPartitionable)");
    }
    log.accept("chaos: cloud-partition ...");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml");
    List<String> sinkQueues = new ArrayList<>();
    for (String sink : cfg.topology().sinks()) {
      for (int p = 0; p < cfg.topology().partitions(); p++) {
        sinkQueues.add(cfg.topology().names().sinkQueue(sink, p));
      }
    }
    // --short: 30 s, long enough for the cut-off node to see its peers down (net_ticktime 15 s: after 11-19 s) and pause
    Duration cut = quick ? Duration.ofSeconds(30) : Duration.ofSeconds(60);
    double rate = 300;
    // the fleet runs until 40 s after the heal (stopped then), however long the set-up before the cut took: an upper bound
    Duration load = Duration.ofMinutes(10);
    Duration afterHeal = Duration.ofSeconds(40);
    Set<Role> both = Set.of(Role.of("index"), Role.of("store"));
    try (PipelineRunner runner = new PipelineRunner(cfg, Role.configured(cfg), prefix, new SimpleMeterRegistry()).start();
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(ChaosScenarios.DEVICES, rate, load, 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      CompletableFuture<SimulationResult> simRun = ChaosScenarios.runAsync(sim, "chaos-sim");
      try {
        ChaosScenarios.waitFor(Duration.ofSeconds(60), ChaosScenarios.loadStarted(rate * 4), () -> sim.progress().confirmed() > rate * 4);
        long steady = Recovery.steadyDepth(stack, cfg, both);
        Map<String, String> before = leaders(nodes, sinkQueues);
        // the victim: the node most of this pipeline's cloud clients are connected to (the two sinks, the edge's shovel),
        // then the one leading the most sink queues: both its clients and its leaders must move to the majority
        Map<String, List<String>> clients = clients(nodes, prefix);
        Map<String, Integer> led = new TreeMap<>();
        before.values().forEach(n -> led.merge(n, 1, Integer::sum));
        java.util.function.ToIntFunction<LocalNode> weight = n -> 100 * clients.getOrDefault(n.nodeName(), List.of()).size()
            + led.getOrDefault(n.nodeName(), 0);
        int v = 0;
        for (int i = 0; i < nodes.size(); i++) {
          if (weight.applyAsInt(nodes.get(i)) > weight.applyAsInt(nodes.get(v))) {
            v = i;
          }
        }
        LocalNode victim = nodes.get(v);
        List<LocalNode> majority = new ArrayList<>(nodes);
        majority.remove(victim);
        List<String> victimClients = clients.getOrDefault(victim.nodeName(), List.of());
        log.accept("chaos: cloud-partition: cutting " + victim.nodeName() + " off (leader of " + led.getOrDefault(victim.nodeName(), 0)
            + " of " + sinkQueues.size() + " sink queues, clients " + victimClients + ") for " + cut.toSeconds() + " s");
        long indexAtCut = delivered(runner, "index");
        long storeAtCut = delivered(runner, "store");
        long confirmedAtCut = sim.progress().confirmed();
        Instant cutAt = Instant.now();
        net.cut(v);
        long edgeBacklogMax = 0;
        Map<String, String> during = Map.of();
        Instant end = cutAt.plus(cut);
        while (Instant.now().isBefore(end)) {
          edgeBacklogMax = Math.max(edgeBacklogMax, edgeBacklog(stack, cfg));
          if (Duration.between(cutAt, Instant.now()).compareTo(cut.minusSeconds(5)) > 0 && during.isEmpty()) {
            during = leaders(majority, sinkQueues);
          }
          ChaosScenarios.pause(Duration.ofSeconds(1));
        }
        long indexDuringCut = delivered(runner, "index") - indexAtCut;
        long storeDuringCut = delivered(runner, "store") - storeAtCut;
        long confirmedDuringCut = sim.progress().confirmed() - confirmedAtCut;
        net.heal(v);
        Instant healedAt = Instant.now();
        log.accept("chaos: cloud-partition: healed; waiting for the cluster to be whole again");
        // the cluster's convergence beside the sinks' recovery, both timed from the heal
        CompletableFuture<Double> wholeAgain = new CompletableFuture<>();
        Thread.ofPlatform().name("chaos-converge").daemon().start(() -> {
          try {
            wholeAgain.complete(Recovery.poll(healedAt, Duration.ofMinutes(3), 1000, () -> whole(majority.getFirst(), nodes.size(), sinkQueues)));
          } catch (InterruptedException | RuntimeException e) {
            wholeAgain.completeExceptionally(e);
          }
        });
        Recovery recovery = Recovery.measure(healedAt, both, stack, cfg, runner, List.of(), rate, steady);
        double converged = wholeAgain.get(4, TimeUnit.MINUTES);
        double paused = pausedAfter(victim, cutAt);
        String partitions = partitionsReported(nodes);
        Map<String, String> after = leaders(nodes, sinkQueues);
        Map<String, List<String>> clientsAfter = clients(nodes, prefix);
        Duration rest = afterHeal.minus(Duration.between(healedAt, Instant.now()));
        if (rest.isPositive()) {
          ChaosScenarios.pause(rest);
        }
        sim.stop();
        SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
        Ledger ledger = sim.ledger();
        Completeness.Result es = ChaosScenarios.converged(List.of(ledger), l -> Auditor.search(cfg.indexer(), l));
        Completeness.Result st = ChaosScenarios.converged(List.of(ledger), l -> Auditor.store(cfg.storage().dir(), l));
        long leadersOnMajority = during.values().stream().filter(n -> majority.stream().anyMatch(m -> m.nodeName().equals(n))).count();
        List<String> failed = new ArrayList<>();
        if (indexDuringCut == 0 || storeDuringCut == 0) {
          failed.add("a sink acked nothing while " + victim.nodeName() + " was cut off: the majority did not keep serving");
        }
        if (leadersOnMajority < sinkQueues.size()) {
          failed.add("only " + leadersOnMajority + " of " + sinkQueues.size() + " sink queues had a leader on the majority side near the end of the cut");
        }
        if (Double.isNaN(converged)) {
          failed.add("the cluster was not whole again within 3 minutes of the heal (" + partitions + ")");
        }
        String note = String.format(Locale.ROOT,
            "%s (leader of %d of %d sink queues, clients %s) cut off for %d s (link down) under %.0f msg/s; pause_minority, net_ticktime 15 s."
                + " Majority %s kept serving: %d of %d sink-queue leaders there near the end of the cut, the indexer acked %d and the store %d readings"
                + " during the cut (devices got %d confirms; edge backlog at most %d); the cut-off node paused itself %s;"
                + " healed -> cluster whole (all running, every member online, partitions: %s) after %.1f s;"
                + " leaders before %s, during %s, after %s; clients after %s",
            victim.nodeName(), led.getOrDefault(victim.nodeName(), 0), sinkQueues.size(), victimClients, cut.toSeconds(), rate,
            majority.stream().map(LocalNode::nodeName).toList(), leadersOnMajority, sinkQueues.size(), indexDuringCut, storeDuringCut, confirmedDuringCut,
            edgeBacklogMax, Double.isNaN(paused) ? "NOT (no minority line in its log)" : paused + " s into the cut (its log)", partitions, converged,
            count(before), count(during), count(after), shortNames(clientsAfter));
        return new ChaosScenarios.Row("cloud-partition", r.published(), r.confirmed(), es.present(), st.present(),
            ChaosScenarios.deadLettered(stack, cfg), 0, es.lost() + st.lost(), es.duplicates() + st.duplicates(), recovery.firstAckSeconds(),
            recovery.caughtUpSeconds(), note, "", 0, 0, String.join("; ", failed));
      } finally {
        // whatever happened, the node is not left cut off for the next scenario or the stack's shutdown
        for (int i = 0; i < nodes.size(); i++) {
          net.heal(i);
        }
        sim.stop();
      }
    }
  }

  /** Leaders per node name ("node: n"), for the note. */
  private static Map<String, Long> count(Map<String, String> leaders) {
    Map<String, Long> c = new TreeMap<>();
    leaders.values().forEach(n -> c.merge(n.substring(0, n.indexOf('@')), 1L, Long::sum));
    return c;
  }

  private static double seconds(Instant from) {
    return Duration.between(from, Instant.now()).toMillis() / 1000.0;
  }

  private static long delivered(PipelineRunner runner, String role) {
    return runner.consumers().get(Role.of(role)).stats().delivered();
  }

  /**
   * Seconds from the cut to the cut-off node's own log line saying it is in the minority and stops (pause_minority);
   * NaN when it never said so. Its log, not a poll: the CLI takes seconds per call on a busy machine.
   */
  private static double pausedAfter(LocalNode node, Instant cutAt) {
    java.nio.file.Path logFile = node.spec().dir().resolve("log").resolve(node.nodeName() + ".log");
    try (var lines = java.nio.file.Files.lines(logFile)) {
      return lines.filter(l -> l.contains("Cluster minority/secondary status detected"))
          .map(l -> java.time.OffsetDateTime.parse(l.substring(0, l.indexOf(' ', 11)).replace(' ', 'T')).toInstant())
          .filter(t -> t.isAfter(cutAt))
          .findFirst()
          .map(t -> Duration.between(cutAt, t).toMillis() / 1000.0)
          .orElse(Double.NaN);
    } catch (java.io.IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private static long edgeBacklog(LocalStack stack, IotpipeConfig cfg) {
    try {
      return stack.brokers().edge().queueDepths().getOrDefault(cfg.topology().names().edgeOutbound(), 0L);
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /**
   * As {@code observer} (a node of the majority) sees it: every node runs RabbitMQ again, no partition is reported, and
   * every sink queue has all its members online.
   */
  private static boolean whole(LocalNode observer, int size, List<String> sinkQueues) {
    LocalNode.CtlResult r = observer.ctl("cluster_status", "--formatter", "json");
    try {
      JsonNode s = JSON.readTree(r.output());
      if (s.path("running_nodes").size() != size || !s.path("partitions").isEmpty()) {
        return false;
      }
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
    JsonNode qs = queues(List.of(observer));
    if (qs == null) {
      return false;
    }
    int ok = 0;
    for (JsonNode q : qs) {
      if (sinkQueues.contains(q.path("name").asText()) && q.path("members").size() == size && q.path("online").size() == size) {
        ok++;
      }
    }
    return ok == sinkQueues.size();
  }

  /** The partitions each node reports ({@code rabbitmqctl cluster_status}), "none" when none does. */
  private static String partitionsReported(List<LocalNode> nodes) {
    List<String> seen = new ArrayList<>();
    for (LocalNode n : nodes) {
      LocalNode.CtlResult r = n.ctl("cluster_status", "--formatter", "json");
      try {
        JsonNode p = JSON.readTree(r.output()).path("partitions");
        if (!p.isEmpty()) {
          seen.add(n.nodeName() + ": " + p);
        }
      } catch (java.io.IOException | RuntimeException e) {
        seen.add(n.nodeName() + ": no answer (" + r.output().strip().lines().findFirst().orElse("") + ")");
      }
    }
    return seen.isEmpty() ? "none" : String.join(", ", seen);
  }

  /**
   * This pipeline's cloud clients per node: the sinks' connections (named after their sink) and the edge's shovel
   * ({@code Shovel <prefix>.edge-to-cloud}), from the management API of the first node that answers.
   */
  private static Map<String, List<String>> clients(List<LocalNode> nodes, String prefix) {
    Map<String, List<String>> m = new TreeMap<>();
    JsonNode cs = get(nodes, "/api/connections?columns=node,client_properties");
    if (cs != null) {
      for (JsonNode c : cs) {
        String name = c.path("client_properties").path("connection_name").asText();
        String who = name.equals("Shovel " + prefix + ".edge-to-cloud") ? "shovel"
            : name.startsWith("iotpipe-") ? name.substring("iotpipe-".length()) : null;
        if (who != null) {
          m.computeIfAbsent(c.path("node").asText(), k -> new ArrayList<>()).add(who);
        }
      }
    }
    return m;
  }

  private static Map<String, List<String>> shortNames(Map<String, List<String>> byNode) {
    Map<String, List<String>> m = new TreeMap<>();
    byNode.forEach((n, c) -> m.put(n.substring(0, n.indexOf('@')), c));
    return m;
  }

  /** The sink queues' leaders, from the management API of the first of {@code nodes} that answers. */
  private static Map<String, String> leaders(List<LocalNode> nodes, List<String> sinkQueues) {
    Map<String, String> m = new LinkedHashMap<>();
    JsonNode qs = queues(nodes);
    if (qs != null) {
      for (JsonNode q : qs) {
        String name = q.path("name").asText();
        if (sinkQueues.contains(name)) {
          m.put(name, q.path("leader").asText(q.path("node").asText()));
        }
      }
    }
    return m;
  }

  private static JsonNode queues(List<LocalNode> nodes) {
    return get(nodes, "/api/queues/%2F?columns=name,leader,node,members,online");
  }

  private static JsonNode get(List<LocalNode> nodes, String path) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(3)).build();
    for (LocalNode n : nodes) {
      try {
        HttpRequest req = HttpRequest.newBuilder(URI.create(n.managementUri() + path))
            .timeout(Duration.ofSeconds(5))
            .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("guest:guest".getBytes(StandardCharsets.UTF_8)))
            .build();
        HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() == 200) {
          return JSON.readTree(resp.body());
        }
      } catch (java.io.IOException e) {
        // a node cut off or paused: ask the next
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    return null;
  }
}
