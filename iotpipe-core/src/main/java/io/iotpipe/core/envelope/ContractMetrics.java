package io.iotpipe.core.envelope;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the contract's decisions in Micrometer, per sink: {@code iotpipe_contract_unknown_fields_total{field,
 * decision}}, {@code iotpipe_contract_future_ts_total{decision}} and {@code iotpipe_contract_envelopes_total{v}}.
 *
 * <p>Field names come from devices, so they are bounded as labels: after {@link #MAX_FIELD_LABELS} distinct names
 * every further one is counted as {@value #OTHER} (a fleet sending random names must not grow the metrics endpoint
 * without end), and a name unfit to store is counted as {@value #INVALID}.
 */
public final class ContractMetrics implements ContractEvents {

  static final int MAX_FIELD_LABELS = 100;
  static final String OTHER = "(other)";
  static final String INVALID = "(invalid)";

  private final MeterRegistry registry;
  private final String sink;
  private final Set<String> labelled = ConcurrentHashMap.newKeySet();
  /** Counters by their labels: the envelope counter is hit by every reading, a registry lookup each time is waste. */
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  public ContractMetrics(MeterRegistry registry, String sink) {
    this.registry = registry;
    this.sink = sink;
  }

  @Override
  public void unknownField(String field, FieldDecision decision) {
    String label = field == null ? INVALID : labelled.contains(field) || labelled.size() < MAX_FIELD_LABELS && labelled.add(field) ? field : OTHER;
    counters.computeIfAbsent("f\0" + label + "\0" + decision, k -> Counter.builder("iotpipe.contract.unknown_fields")
        .tag("sink", sink).tag("field", label).tag("decision", name(decision))
        .description("unknown top-level fields of readings, by contract decision").register(registry)).increment();
  }

  @Override
  public void futureTimestamp(FutureDecision decision) {
    counters.computeIfAbsent("t\0" + decision, k -> Counter.builder("iotpipe.contract.future_ts").tag("sink", sink)
        .tag("decision", name(decision))
        .description("readings with ts more than contract.maxFutureSkew ahead, by contract decision").register(registry)).increment();
  }

  @Override
  public void envelope(int v) {
    counters.computeIfAbsent("v\0" + v, k -> Counter.builder("iotpipe.contract.envelopes").tag("sink", sink)
        .tag("v", Integer.toString(v)).description("valid readings by envelope version").register(registry)).increment();
  }

  private static String name(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
