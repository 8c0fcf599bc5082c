package io.iotpipe.slo;

/**
 * Every metric name the SLOs depend on, in one place: the Micrometer names the processes register and the names
 * Prometheus sees after Micrometer's Prometheus naming (dots to underscores, {@code _total} for counters, base unit
 * suffixes for timers). The rules, the dashboard and the report use only the {@code PROM_*} names below;
 * {@code SloMetricsTest} scrapes a real {@code PrometheusMeterRegistry} to prove each pair matches.
 */
public final class SloMetrics {

  /** Label every iotpipe SLI metric carries: the sink name ({@code elk}, {@code storage}). */
  public static final String SINK = "sink";

  // ---- registered by CompletenessTracker
  /** Readings the sink made durable for the first time (redeliveries and duplicates not counted). */
  public static final String READINGS = "iotpipe.sli.readings";
  public static final String PROM_READINGS = "iotpipe_sli_readings_total";
  /** Readings whose seq gap stayed open longer than the grace period. */
  public static final String MISSING = "iotpipe.sli.missing";
  public static final String PROM_MISSING = "iotpipe_sli_missing_total";
  /** Readings that arrived after their gap had already been counted missing. */
  public static final String LATE = "iotpipe.sli.late";
  public static final String PROM_LATE = "iotpipe_sli_late_total";
  /** Readings currently inside open gaps (not yet missing: within the grace period). */
  public static final String GAPS_OPEN = "iotpipe.sli.gaps.open";
  public static final String PROM_GAPS_OPEN = "iotpipe_sli_gaps_open";
  /** Devices the tracker holds state for (bounded by slo.completeness.maxDevices). */
  public static final String DEVICES_TRACKED = "iotpipe.sli.devices.tracked";
  public static final String PROM_DEVICES_TRACKED = "iotpipe_sli_devices_tracked";
  /** Jumps too large to be gaps (a device renumbered or reset its seq), not counted as missing. */
  public static final String SEQ_RESETS = "iotpipe.sli.seq.resets";
  public static final String PROM_SEQ_RESETS = "iotpipe_sli_seq_resets_total";

  // ---- registered by FreshnessRecorder
  /** Publish-to-durable latency histogram, seconds, with a bucket at the sink's target. */
  public static final String FRESHNESS = "iotpipe.sli.freshness";
  public static final String PROM_FRESHNESS_BUCKET = "iotpipe_sli_freshness_seconds_bucket";
  public static final String PROM_FRESHNESS_COUNT = "iotpipe_sli_freshness_seconds_count";
  /** Where the publish time came from: header, amqp-timestamp or reading-ts (MQTT devices). */
  public static final String FRESHNESS_SOURCE = "iotpipe.sli.freshness.source";
  public static final String PROM_FRESHNESS_SOURCE = "iotpipe_sli_freshness_source_total";

  // ---- exported by the runtime (the lead wires it): 0 up, 1 degraded, 2 down
  public static final String SINK_HEALTH = "iotpipe.sink.health";
  public static final String PROM_SINK_HEALTH = "iotpipe_sink_health";

  // ---- registered by SinkConsumer today (iotpipe-rabbitmq)
  public static final String PROM_DELIVERED = "iotpipe_consumer_delivered_total";
  public static final String PROM_DEAD_LETTERED = "iotpipe_consumer_dead_lettered_total";
  public static final String PROM_RECEIVED = "iotpipe_consumer_received_total";

  // ---- rabbitmq_prometheus: per-queue depth (ready + unacked, labels vhost and queue). Checked on a live 3.10.8 node:
  // /metrics/detailed?family=queue_coarse_metrics gives rabbitmq_detailed_queue_messages (what the local nodes'
  // scrape uses: a few lines per queue); /metrics/per-object (or /metrics with prometheus.return_per_object_metrics
  // = true) gives rabbitmq_queue_messages with every other per-object family; the aggregated /metrics has no
  // per-queue series, and /metrics/detailed without a family almost nothing.
  public static final String RABBIT_DETAILED_QUEUE_MESSAGES = "rabbitmq_detailed_queue_messages";
  public static final String RABBIT_QUEUE_MESSAGES = "rabbitmq_queue_messages";

  // ---- recorded by the generated rules
  /** Error ratio of one SLO over a window: {@code iotpipe:slo_errors:ratio_rate5m{slo, sink}}. */
  public static String errorRatio(String window) {
    return "iotpipe:slo_errors:ratio_rate" + window;
  }

  /** 1 while the sink counts as unavailable, 0 otherwise (the availability SLI's per-sample error). */
  public static final String SINK_UNAVAILABLE = "iotpipe:sink_unavailable:bool";
  /** Error budget left over the SLO window, as a share (1 = untouched, 0 = spent, negative = overspent). */
  public static final String BUDGET_REMAINING = "iotpipe:slo_error_budget:remaining";
  /** The SLO objective as a series, so dashboards and reports need not know the config. */
  public static final String OBJECTIVE = "iotpipe:slo:objective";

  public static final String ALERT = "IotpipeErrorBudgetBurn";

  private SloMetrics() {}
}
