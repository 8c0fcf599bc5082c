package io.iotpipe.core.config;

/**
 * The names of every exchange and queue, in one place, so the topology compiler, consumers, tools and tests can
 * never disagree on them.
 */
public record Names(String prefix) {

  /** Edge: devices publish here (topic exchange, routing key = device id; MQTT topics map onto it too). */
  public String edgeIngress() {
    return prefix + ".edge.ingress";
  }

  /** Edge: the bounded buffer the shovel drains. */
  public String edgeOutbound() {
    return prefix + ".edge.outbound";
  }

  /** Cloud: the hash exchange (device id -> partition) the shovels publish to. */
  public String cloudIngress() {
    return prefix + ".ingress";
  }

  /**
   * Cloud, {@code topology.wan.mode: batch}: the direct exchange the forwarder publishes batches to, routing key
   * {@link #partitionKey(int)}; bound to every partition exchange. Only the forwarder's account may write to it.
   */
  public String batchExchange() {
    return prefix + ".batches";
  }

  /** The routing key of partition {@code p} on {@link #batchExchange()}, e.g. {@code p3}. */
  public String partitionKey(int p) {
    return "p" + p;
  }

  /**
   * The account the edge forwarder logs in as with {@code security:} (edge: reads the outbound buffer; cloud: writes
   * the batch exchange only). Sinks trust a batch only when the broker-validated {@code user_id} names it.
   */
  public String forwarderAccount() {
    return prefix + "-forward";
  }

  /** Cloud: fanout exchange of partition {@code p}. */
  public String partition(int p) {
    return prefix + ".p" + p;
  }

  /**
   * Cloud, {@code topology.layout: streams}: the stream holding partition {@code p}, read by every sink group, e.g.
   * {@code iotpipe.p3.stream}.
   */
  public String partitionStream(int p) {
    return prefix + ".p" + p + ".stream";
  }

  /** Cloud, only when the fanout stage lives on another broker: queue holding partition {@code p} until shovelled. */
  public String partitionTransfer(int p) {
    return prefix + ".p" + p + ".transfer";
  }

  /** Cloud: the queue of {@code sink} in partition {@code p}, e.g. {@code iotpipe.elk.p3}. */
  public String sinkQueue(String sink, int p) {
    return prefix + "." + sink + ".p" + p;
  }

  /** Cloud: dead-letter exchange (direct, routing key = sink name). */
  public String deadLetterExchange() {
    return prefix + ".dlx";
  }

  public String deadLetterQueue(String sink) {
    return prefix + ".dlq." + sink;
  }

  /** Header carrying why a message was dead-lettered. */
  public static final String REASON_HEADER = "x-iotpipe-reason";
  /** Header naming the sink/queue that rejected a message. */
  public static final String SOURCE_HEADER = "x-iotpipe-source";
}
