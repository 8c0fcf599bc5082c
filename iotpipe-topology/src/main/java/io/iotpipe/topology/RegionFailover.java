package io.iotpipe.topology;

import com.rabbitmq.client.Connection;
import io.iotpipe.core.config.BrokerConfig;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.rabbitmq.Amqp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the edges' shovels to another region when every node of the current one is unreachable, and back home once
 * home has been healthy for a while. RabbitMQ's shovel cannot do this itself: it picks one of its destination URIs at
 * random on every reconnect and never prefers one, so a shovel listing both regions would split traffic between them
 * while home is healthy, and one that lists only home never leaves it.
 *
 * <p>One {@link #step()} probes each region (an AMQP connection to any of its nodes) and re-declares the edge shovel
 * ({@code PUT /api/parameters/shovel/...} on every edge) when the target changes. Hysteresis keeps a flapping link
 * from moving traffic back and forth: fail over after {@code failAfter} failed probes of the current region in a row,
 * fail back after home answered {@code failbackAfter} probes in a row.
 *
 * <p>Nothing is lost or doubled by a move: the shovel acks the edge only on the destination's confirm
 * ({@code on-confirm}), so messages in flight at the move are re-sent to the new region; a message whose confirm was
 * lost reaches both regions, and the sinks' {@code (deviceId, seq)} uniqueness (document ids, the store's commit
 * records) absorbs it.
 */
public final class RegionFailover {

  private static final Logger LOG = LoggerFactory.getLogger(RegionFailover.class);

  /** What a step decided: the region the edges now ship to, and whether this step moved them. */
  public record Decision(String region, boolean moved, String reason) {}

  private final IotpipeConfig cfg;
  private final List<String> regions;
  private final int failAfter;
  private final int failbackAfter;
  private final java.util.function.Predicate<BrokerConfig> probe;
  private final java.util.function.Consumer<String> mover;
  private String current;
  private int currentFailures;
  private int homeSuccesses;

  public RegionFailover(IotpipeConfig cfg, int failAfter, int failbackAfter) {
    this(cfg, failAfter, failbackAfter, RegionFailover::reachable, null);
  }

  /** With another probe and shovel mover (tests). A null mover re-declares the edge shovels. */
  RegionFailover(IotpipeConfig cfg, int failAfter, int failbackAfter, java.util.function.Predicate<BrokerConfig> probe,
                 java.util.function.Consumer<String> mover) {
    this.cfg = cfg;
    this.probe = probe;
    this.mover = mover != null ? mover : this::pointEdgesAt;
    this.regions = new ArrayList<>();
    regions.add(cfg.topology().balancer());
    regions.addAll(cfg.topology().failover());
    if (regions.size() < 2) {
      throw new TopologyException("region failover needs topology.failover: the brokers of another region");
    }
    this.failAfter = failAfter;
    this.failbackAfter = failbackAfter;
    this.current = regions.get(0);
  }

  public String home() {
    return regions.get(0);
  }

  public String current() {
    return current;
  }

  /** Probes the regions once and moves the edges' shovels when the rules above say so. */
  public Decision step() {
    String home = home();
    boolean homeUp = probe.test(cfg.broker(home));
    if (current.equals(home)) {
      currentFailures = homeUp ? 0 : currentFailures + 1;
      if (currentFailures >= failAfter) {
        for (String r : regions.subList(1, regions.size())) {
          if (probe.test(cfg.broker(r))) {
            return move(r, "home region " + home + " unreachable for " + currentFailures + " probes");
          }
        }
        return new Decision(current, false, "home region " + home + " unreachable and no failover region answers");
      }
      return new Decision(current, false, homeUp ? "home healthy" : "home probe failed (" + currentFailures + "/" + failAfter + ")");
    }
    homeSuccesses = homeUp ? homeSuccesses + 1 : 0;
    if (homeSuccesses >= failbackAfter) {
      return move(home, "home region " + home + " healthy for " + homeSuccesses + " probes");
    }
    return new Decision(current, false, homeUp ? "home back (" + homeSuccesses + "/" + failbackAfter + ")" : "home still down");
  }

  private void pointEdgesAt(String region) {
    Declaration.Shovel shovel = TopologyCompiler.edgeShovel(cfg, region);
    for (String edge : cfg.topology().edges()) {
      ManagementClient mc = new ManagementClient(cfg.broker(edge));
      mc.put("parameters/shovel/" + mc.vhost() + "/" + ManagementClient.enc(shovel.name()),
          Map.of("value", shovel.value()));
    }
  }

  private Decision move(String region, String reason) {
    mover.accept(region);
    LOG.warn("edges now ship to region {} ({})", region, reason);
    String from = current;
    current = region;
    currentFailures = 0;
    homeSuccesses = 0;
    return new Decision(region, true, reason + "; moved from " + from);
  }

  /** True when any node of {@code broker} accepts an AMQP connection. */
  static boolean reachable(BrokerConfig broker) {
    var f = Amqp.factory(broker);
    f.setConnectionTimeout(2_000);
    f.setAutomaticRecoveryEnabled(false);
    try (Connection c = f.newConnection(Amqp.addresses(broker, false), "iotpipe-failover-probe")) {
      return c.isOpen();
    } catch (Exception e) {
      return false;
    }
  }
}
