package io.iotpipe.capacity;

import io.iotpipe.slo.Slos;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Sizes a deployment from a fleet description and a {@link CapacityProfile}: pure arithmetic, every figure a {@link Line}
 * that names the constants it used, so a reader can check (or redo) each one by hand.
 *
 * <p>Rates: the average is {@code devices / interval}; the peak is the average times {@code peak}, for the cloud as a
 * whole and for each region (each region's rush hour at its own local time: summing regional peaks would
 * over-size the cloud, so the cloud uses the global factor). Outages are planned at the peak rate.
 */
public final class CapacityPlanner {

  public enum Protocol { AMQP, MQTT }

  /**
   * @param devices         fleet size
   * @param interval        one reading per device per interval
   * @param payloadBytes    JSON bytes of one reading
   * @param peak            peak-to-average factor
   * @param regions         region -> share of the fleet (sums to 1)
   * @param retention       how long the files (and the search indices) are kept
   * @param replicas        redundancy: spare instances per role, and search index replicas
   * @param rideThrough     WAN outage the edge must buffer through without nacking devices
   * @param protocol        how devices publish
   * @param tls             whether device and WAN links are TLS
   * @param sinks           sink queues per partition (elk, storage)
   */
  public record Input(long devices, Duration interval, long payloadBytes, double peak, Map<String, Double> regions,
                      Duration retention, int replicas, Duration rideThrough, Protocol protocol, boolean tls, int sinks) {

    public Input {
      if (devices < 1) {
        throw new IllegalArgumentException("--devices must be at least 1");
      }
      if (interval.isZero() || interval.isNegative()) {
        throw new IllegalArgumentException("--interval must be positive");
      }
      if (payloadBytes < 1) {
        throw new IllegalArgumentException("--payload must be at least 1 byte");
      }
      if (peak < 1) {
        throw new IllegalArgumentException("--peak is a peak-to-average factor, at least 1x; was " + peak);
      }
      double sum = regions.values().stream().mapToDouble(Double::doubleValue).sum();
      if (regions.isEmpty() || Math.abs(sum - 1) > 0.001 || regions.values().stream().anyMatch(v -> v <= 0)) {
        throw new IllegalArgumentException("--regions: positive shares that sum to 1, e.g. eu:0.5,us:0.3,ap:0.2; they sum to " + sum);
      }
      if (replicas < 0) {
        throw new IllegalArgumentException("--replicas must be 0 or more");
      }
      regions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(regions));
    }
  }

  /**
   * One figure of the plan.
   *
   * @param key       stable identifier for scripts, e.g. {@code cloud.rabbitmqNodes}, {@code region.eu.wanBytesPerSec}
   * @param value     the figure
   * @param unit      its unit
   * @param how       the formula with the numbers put in
   * @param constants the profile constants it used, with their values
   */
  public record Line(String key, double value, String unit, String how, Map<String, Double> constants) {}

  public record Plan(String profile, Input input, List<Line> lines) {
    public Line line(String key) {
      return lines.stream().filter(l -> l.key().equals(key)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no line " + key));
    }

    public double value(String key) {
      return line(key).value();
    }
  }

  private final CapacityProfile p;
  private final List<Line> lines = new ArrayList<>();

  private CapacityPlanner(CapacityProfile profile) {
    this.p = profile;
  }

  public static Plan plan(Input in, CapacityProfile profile) {
    CapacityPlanner c = new CapacityPlanner(profile);
    c.compute(in);
    return new Plan(profile.name(), in, List.copyOf(c.lines));
  }

  private void compute(Input in) {
    double secs = in.interval().toNanos() / 1e9;
    double avg = in.devices() / secs;
    double peak = avg * in.peak();
    double util = p.get("utilisation");
    double tls = in.tls() ? p.get("tlsRecordOverheadBytes") : 0;
    double tcp = p.get("tcpIpHeaderBytes");
    boolean amqp = in.protocol() == Protocol.AMQP;
    String framing = amqp ? "amqpPublishOverheadBytes" : "mqttPublishOverheadBytes";
    String ackName = amqp ? "amqpConfirmBytes" : "mqttPubackBytes";

    // ---- per reading on the wire
    // a device sends one reading per TCP segment (one TLS record) and gets its confirm in another; its TCP then
    // acks that confirm with an empty segment (readings are seconds apart, nothing to piggyback on)
    double up = in.payloadBytes() + p.get(framing) + tls + tcp + tcp;
    add("wire.deviceUplinkBytesPerReading", up, "B",
        in.payloadBytes() + " payload + " + n(p.get(framing)) + " " + in.protocol().name().toLowerCase(Locale.ROOT) + " framing"
            + (in.tls() ? " + " + n(tls) + " TLS record" : "") + " + " + n(tcp) + " TCP/IP + " + n(tcp) + " TCP ack of the confirm",
        framing, in.tls() ? "tlsRecordOverheadBytes" : null, "tcpIpHeaderBytes");
    double down = p.get(ackName) + tls + tcp;
    add("wire.deviceDownlinkBytesPerReading", down, "B",
        n(p.get(ackName)) + (amqp ? " basic.ack" : " PUBACK") + (in.tls() ? " + " + n(tls) + " TLS record" : "") + " + " + n(tcp) + " TCP/IP",
        ackName, in.tls() ? "tlsRecordOverheadBytes" : null, "tcpIpHeaderBytes");
    // the shovel streams: frames fill TCP segments and TLS records, so their headers are shared by many readings
    double body = in.payloadBytes() + p.get("amqpPublishOverheadBytes");
    double wan = body * (1 + tcp / p.get("tcpMssBytes")) * (1 + (in.tls() ? tls / p.get("tlsMaxRecordBytes") : 0));
    add("wire.wanBytesPerReading", wan, "B",
        "(" + in.payloadBytes() + " payload + " + n(p.get("amqpPublishOverheadBytes")) + " AMQP framing) x (1 + " + n(tcp) + "/"
            + n(p.get("tcpMssBytes")) + " TCP/IP per segment)" + (in.tls() ? " x (1 + " + n(tls) + "/" + n(p.get("tlsMaxRecordBytes")) + " TLS per record)" : "")
            + "; shovel confirms back are batched (negligible)",
        "amqpPublishOverheadBytes", "tcpIpHeaderBytes", "tcpMssBytes", in.tls() ? "tlsRecordOverheadBytes" : null,
        in.tls() ? "tlsMaxRecordBytes" : null);

    // ---- rates
    add("cloud.averageMsgPerSec", avg, "msg/s", n(in.devices()) + " devices / " + n(secs) + " s");
    add("cloud.peakMsgPerSec", peak, "msg/s", n(avg) + " x peak " + n(in.peak()));

    // ---- regions and edge sites
    double perSite = p.get("edgeDevicesPerSite");
    for (Map.Entry<String, Double> r : in.regions().entrySet()) {
      String k = "region." + r.getKey() + ".";
      double devices = in.devices() * r.getValue();
      double sites = Math.ceil(devices / perSite);
      double siteDevices = Math.ceil(devices / sites);
      double sitePeak = siteDevices / secs * in.peak();
      double regionPeak = devices / secs * in.peak();
      add(k + "devices", devices, "devices", n(in.devices()) + " x " + r.getValue());
      add(k + "edgeSites", sites, "sites", "ceil(" + n(devices) + " / " + n(perSite) + " devices per edge node)", "edgeDevicesPerSite");
      add(k + "devicesPerSite", siteDevices, "devices", "ceil(" + n(devices) + " / " + n(sites) + " sites)", "edgeDevicesPerSite");
      add(k + "peakMsgPerSec", regionPeak, "msg/s", n(devices) + " / " + n(secs) + " s x peak " + n(in.peak()));
      add(k + "site.deviceUplinkBytesPerSec", sitePeak * up, "B/s",
          n(sitePeak) + " msg/s at peak x " + n(up) + " B (" + bits(sitePeak * up) + ")", framing,
          in.tls() ? "tlsRecordOverheadBytes" : null, "tcpIpHeaderBytes", "edgeDevicesPerSite");
      add(k + "site.deviceDownlinkBytesPerSec", sitePeak * down, "B/s",
          n(sitePeak) + " msg/s at peak x " + n(down) + " B (" + bits(sitePeak * down) + ")", ackName,
          in.tls() ? "tlsRecordOverheadBytes" : null, "tcpIpHeaderBytes", "edgeDevicesPerSite");
      add(k + "site.wanBytesPerSec", sitePeak * wan, "B/s",
          n(sitePeak) + " msg/s at peak x " + n(wan) + " B (" + bits(sitePeak * wan) + ")",
          "amqpPublishOverheadBytes", "tcpIpHeaderBytes", "tcpMssBytes", in.tls() ? "tlsRecordOverheadBytes" : null, "edgeDevicesPerSite");
      add(k + "wanBytesPerSec", regionPeak * wan, "B/s",
          n(regionPeak) + " msg/s at peak x " + n(wan) + " B into the cloud (" + bits(regionPeak * wan) + ")",
          "amqpPublishOverheadBytes", "tcpIpHeaderBytes", "tcpMssBytes", in.tls() ? "tlsRecordOverheadBytes" : null);
      double ride = in.rideThrough().toSeconds();
      double msgs = Math.ceil(sitePeak * ride);
      add(k + "site.edgeBufferMessages", msgs, "messages",
          "ceil(" + n(sitePeak) + " msg/s at peak x " + n(ride) + " s outage) -> topology.edgeBuffer.maxMessages", "edgeDevicesPerSite");
      add(k + "site.edgeBufferBytes", msgs * in.payloadBytes(), "B",
          n(msgs) + " x " + in.payloadBytes() + " B payload (x-max-length-bytes counts bodies only; the node's disk also holds"
              + " its index and segment files) -> topology.edgeBuffer.maxBytes (" + bytes(msgs * in.payloadBytes()) + ")",
          "edgeDevicesPerSite");
    }

    // ---- cloud sizing
    double indexerActive = Math.ceil(peak / (p.get("indexerMsgPerSec") * util));
    double storeActive = Math.ceil(peak / (p.get("storeMsgPerSec") * util));
    double byQueue = Math.ceil(peak / (p.get("quorumQueueMsgPerSec") * util));
    double partitions = Math.max(byQueue, Math.max(indexerActive, storeActive));
    add("cloud.partitions", partitions, "partitions",
        "max(ceil(" + n(peak) + " / (" + n(p.get("quorumQueueMsgPerSec")) + " per queue x " + n(util) + ")) = " + n(byQueue)
            + ", one per active indexer/store instance = " + n(Math.max(indexerActive, storeActive)) + ")",
        "quorumQueueMsgPerSec", "utilisation", "indexerMsgPerSec", "storeMsgPerSec");
    double replicas = p.get("quorumReplicas");
    double writes = peak * in.sinks() * replicas;
    double nodes = Math.max(replicas, Math.ceil(writes / (p.get("brokerQueueWritesPerSecPerNode") * util)));
    add("cloud.rabbitmqNodes", nodes, "nodes",
        "max(" + n(replicas) + " for quorum, ceil(" + n(peak) + " x " + in.sinks() + " sink queues x " + n(replicas) + " replicas / ("
            + n(p.get("brokerQueueWritesPerSecPerNode")) + " x " + n(util) + ")))",
        "quorumReplicas", "brokerQueueWritesPerSecPerNode", "utilisation");
    add("cloud.indexerInstances", indexerActive + in.replicas(), "instances",
        "ceil(" + n(peak) + " / (" + n(p.get("indexerMsgPerSec")) + " x " + n(util) + ")) = " + n(indexerActive) + " + " + in.replicas() + " spare",
        "indexerMsgPerSec", "utilisation");
    add("cloud.storeInstances", storeActive + in.replicas(), "instances",
        "ceil(" + n(peak) + " / (" + n(p.get("storeMsgPerSec")) + " x " + n(util) + ")) = " + n(storeActive) + " + " + in.replicas() + " spare",
        "storeMsgPerSec", "utilisation");

    double perDay = avg * 86_400;
    double days = in.retention().toSeconds() / 86_400.0;
    double copies = 1 + in.replicas();
    double searchDisk = perDay * days * p.get("searchBytesPerDoc") * copies;
    add("search.diskBytes", searchDisk, "B",
        n(perDay) + " docs/day x " + n(days) + " days x " + n(p.get("searchBytesPerDoc")) + " B x " + n(copies) + " copies (" + bytes(searchDisk) + ")",
        "searchBytesPerDoc");
    double byRate = Math.ceil(peak * copies / (p.get("searchDocsPerSecPerNode") * util));
    double byDisk = Math.ceil(searchDisk / (p.get("searchDiskPerNodeBytes") * p.get("searchDiskWatermark")));
    add("search.nodes", Math.max(copies, Math.max(byRate, byDisk)), "nodes",
        "max(" + n(copies) + " copies, indexing ceil(" + n(peak) + " x " + n(copies) + " / (" + n(p.get("searchDocsPerSecPerNode")) + " x " + n(util)
            + ")) = " + n(byRate) + ", disk ceil(" + bytes(searchDisk) + " / (" + bytes(p.get("searchDiskPerNodeBytes")) + " x "
            + n(p.get("searchDiskWatermark")) + ")) = " + n(byDisk) + ")",
        "searchDocsPerSecPerNode", "utilisation", "searchDiskPerNodeBytes", "searchDiskWatermark", "searchBytesPerDoc");

    double storeDay = perDay * p.get("parquetBytesPerRow");
    add("store.bytesPerDay", storeDay, "B",
        n(perDay) + " readings/day x " + n(p.get("parquetBytesPerRow")) + " B per Parquet row (" + bytes(storeDay) + ")", "parquetBytesPerRow");
    add("store.bytesTotal", storeDay * days, "B",
        bytes(storeDay) + "/day x " + n(days) + " days retention (" + bytes(storeDay * days) + "; keep it on redundant storage)",
        "parquetBytesPerRow");
  }

  private void add(String key, double value, String unit, String how, String... constants) {
    Map<String, Double> used = new LinkedHashMap<>();
    for (String c : constants) {
      if (c != null) {
        used.put(c, p.get(c));
      }
    }
    lines.add(new Line(key, value, unit, how, used));
  }

  /** A number for people: integers without decimals, others with up to 3 significant decimals. */
  static String n(double d) {
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return String.format(Locale.ROOT, "%,d", (long) d);
    }
    return String.format(Locale.ROOT, "%,.3f", d).replaceAll("0+$", "").replaceAll("\\.$", "");
  }

  static String bytes(double b) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < units.length - 1) {
      b /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, "%.1f %s", b, units[i]);
  }

  static String bits(double bytesPerSec) {
    double b = bytesPerSec * 8;
    String[] units = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    int i = 0;
    while (b >= 1000 && i < units.length - 1) {
      b /= 1000;
      i++;
    }
    return String.format(Locale.ROOT, "%.2f %s", b, units[i]);
  }

  /** The plan as text: one line per figure, with the formula and the constants that drove it. */
  public static String text(Plan plan) {
    StringBuilder b = new StringBuilder();
    Input in = plan.input();
    b.append(String.format(Locale.ROOT, "plan for %,d devices, one %s reading of %d B every %s, peak %sx, regions %s, retention %s,"
            + " %d replica(s), ride-through %s%s%n", in.devices(), in.protocol().name().toLowerCase(Locale.ROOT), in.payloadBytes(),
        Slos.promDuration(in.interval()), n(in.peak()), in.regions(), Slos.promDuration(in.retention()), in.replicas(),
        Slos.promDuration(in.rideThrough()), in.tls() ? ", TLS" : ", no TLS"));
    b.append("profile: ").append(plan.profile()).append('\n');
    for (Line l : plan.lines()) {
      b.append(String.format(Locale.ROOT, "%-40s %16s %-9s = %s", l.key(), n(l.value()), l.unit(), l.how()));
      if (!l.constants().isEmpty()) {
        b.append("  [");
        b.append(String.join(", ", l.constants().entrySet().stream().map(e -> e.getKey() + "=" + n(e.getValue())).toList()));
        b.append(']');
      }
      b.append('\n');
    }
    return b.toString();
  }
}
