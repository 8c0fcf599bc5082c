package io.iotpipe.testkit.chaos;

import io.iotpipe.audit.Auditor;
import io.iotpipe.audit.Completeness;
import io.iotpipe.runtime.dlq.DeadLetters;
import io.iotpipe.core.config.IotpipeConfig;
import io.iotpipe.core.config.SimulatorConfig;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.runtime.PipelineRunner;
import io.iotpipe.runtime.Role;
import io.iotpipe.simulator.Simulation;
import io.iotpipe.simulator.SimulationResult;
import io.iotpipe.storage.StoreQuery;
import io.iotpipe.testkit.LocalStack;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A firmware rollout under load, with the contract's default policies: half-way through the run part of the fleet
 * switches to firmware that a v1 reader has never seen. A third of the devices add top-level fields ({@code fw},
 * {@code connectorId}); a sixth send {@code v: 2} with {@code attributes}; a tenth run their clock 30 minutes ahead
 * (beyond {@code contract.maxFutureSkew}); a twentieth upload readings three days old (buffered while offline). Nothing
 * may be dead-lettered for any of that, nothing lost or doubled in either sink, every decision counted in the sinks'
 * contract metrics, and the old readings must land at their own time in both sinks.
 *
 * <p>The strict variant ({@code firmware-rollout-strict}: {@code unknownFields: reject}, {@code futureTimestamps: reject})
 * runs the same rollout: exactly the readings with extra fields or a clock ahead must be in both dead-letter queues,
 * with reasons naming the field or {@code contract.maxFutureSkew}, counted as rejected; every other reading (v2
 * attributes are declared, so kept) in both sinks exactly once.
 */
final class FirmwareRollout {

  private static final int DEVICES = 100;
  private static final Duration AHEAD = Duration.ofMinutes(30);
  private static final Duration BUFFERED = Duration.ofDays(3);

  private FirmwareRollout() {}

  /** Readings each new firmware behaviour produced (encoded once per reading; a resend reuses the body). */
  private static final class Sent {
    final AtomicLong extraFields = new AtomicLong();
    final AtomicLong v2 = new AtomicLong();
    final AtomicLong ahead = new AtomicLong();
    final AtomicLong buffered = new AtomicLong();
    /** Of those, readings a strict contract refuses (a buffered device that also sends extra fields). */
    final AtomicLong bufferedRefused = new AtomicLong();
    /** v2 readings a strict contract refuses (also a clock ahead). */
    final AtomicLong v2Refused = new AtomicLong();
    /** Readings a strict contract refuses ({@code deviceId:seq}): extra top-level fields or a clock ahead. */
    final java.util.Set<String> refused = java.util.concurrent.ConcurrentHashMap.newKeySet();
  }

  /** @param strict the {@code reject} policies instead of the defaults */
  static ChaosScenarios.Row run(LocalStack stack, boolean quick, boolean strict, Consumer<String> log) throws Exception {
    String name = strict ? "firmware-rollout-strict" : "firmware-rollout";
    log.accept("chaos: " + name + " ...");
    String prefix = "x" + UUID.randomUUID().toString().substring(0, 6);
    IotpipeConfig cfg = stack.pipeline(prefix, "  rollAge: 3s", prefix + ".yaml",
        y -> strict ? y + "contract:\n  unknownFields: reject\n  futureTimestamps: reject\n" : y);
    MeterRegistry metrics = new SimpleMeterRegistry();
    double rate = quick ? 300 : 500;
    Duration load = quick ? Duration.ofSeconds(20) : Duration.ofSeconds(60);
    double switchAt = load.toSeconds() / 2.0;
    Sent sent = new Sent();
    try (PipelineRunner runner = new PipelineRunner(cfg, Role.configured(cfg), prefix, metrics).start();
         Simulation sim = Simulation.create(cfg, Simulation.Options.from(cfg.simulator()).with(DEVICES, rate, load, 0)
             .withProfile(SimulatorConfig.LoadShape.FLAT, SimulatorConfig.Protocol.AMQP))) {
      sim.firmware((t, elapsed, codec) -> elapsed < switchAt ? codec.encode(t) : newFirmware(t, codec, sent));
      CompletableFuture<SimulationResult> simRun = ChaosScenarios.runAsync(sim, "chaos-sim");
      SimulationResult r = simRun.get(10, TimeUnit.MINUTES);
      Completeness.Result es;
      Completeness.Result st;
      long dlq;
      List<String> failed = new ArrayList<>();
      String reasons = "";
      if (!strict) {
        es = ChaosScenarios.audit(cfg, List.of(sim.ledger()), true);
        st = ChaosScenarios.audit(cfg, List.of(sim.ledger()), false);
        dlq = ChaosScenarios.deadLettered(stack, cfg);
      } else {
        // the expectation: every confirmed reading but those the strict contract refuses, which are dead-lettered
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (true) {
          es = Auditor.search(cfg.indexer(), expected(sim, sent));
          st = Auditor.store(cfg.storage().dir(), expected(sim, sent));
          dlq = ChaosScenarios.deadLettered(stack, cfg);
          if ((es.lost() == 0 && st.lost() == 0 && dlq >= 2L * sent.refused.size()) || System.nanoTime() > deadline) {
            break;
          }
          TimeUnit.SECONDS.sleep(2); // polling the sinks while the last readings land
        }
        if (es.unconfirmed() + st.unconfirmed() > 0) {
          failed.add((es.unconfirmed() + st.unconfirmed()) + " refused readings reached a sink");
        }
        if (dlq != 2L * sent.refused.size()) {
          failed.add(dlq + " dead letters, " + 2L * sent.refused.size() + " expected (each refused reading once per sink)");
        }
        Map<String, Integer> byKind = new TreeMap<>();
        try (DeadLetters letters = new DeadLetters(cfg.sinkBroker(), cfg.topology().names())) {
          for (String sink : List.of("elk", "storage")) {
            for (DeadLetters.Letter l : letters.peek(sink, 200)) {
              String kind = l.reason().contains("unknown field") && l.reason().contains("contract.unknownFields is reject") ? "unknown field"
                  : l.reason().contains("contract.maxFutureSkew") ? "clock ahead" : "other: " + l.reason();
              byKind.merge(sink + " " + kind, 1, Integer::sum);
            }
          }
        }
        if (byKind.keySet().stream().anyMatch(k -> k.contains("other: "))) {
          failed.add("dead letters with unexpected reasons: " + byKind);
        }
        reasons = "; dead-letter reasons (first 200 per sink): " + byKind;
      }
      Instant oldBefore = Instant.now().minus(Duration.ofDays(2));
      long oldInSearch = oldInSearch(cfg, oldBefore);
      long oldInStore = oldInStore(cfg, oldBefore);

      Map<String, Long> keptFields = bySink(metrics, "iotpipe.contract.unknown_fields", "decision", "kept");
      Map<String, Long> rejectedFields = bySink(metrics, "iotpipe.contract.unknown_fields", "decision", "rejected");
      Map<String, Long> aheadKept = bySink(metrics, "iotpipe.contract.future_ts", "decision", strict ? "rejected" : "kept");
      Map<String, Long> v2Counted = bySink(metrics, "iotpipe.contract.envelopes", "v", "2");
      // every delivery is decided and counted; a redelivery is counted again, so at least what was sent
      long fieldsSent = 2 * sent.extraFields.get() + sent.v2.get();
      if (!strict && dlq > 0) {
        failed.add(dlq + " readings dead-lettered (none expected under the default policies)");
      }
      for (String sink : List.of("elk", "storage")) {
        if (strict) {
          // v2's attributes are declared: kept under reject; a reading with extra fields is refused at its first one
          check(failed, sink + ": v2 attributes kept", keptFields.getOrDefault(sink, 0L), sent.v2.get());
          check(failed, sink + ": readings refused for an unknown field", rejectedFields.getOrDefault(sink, 0L), sent.extraFields.get());
          check(failed, sink + ": clock-ahead readings refused", aheadKept.getOrDefault(sink, 0L), sent.ahead.get());
        } else {
          check(failed, sink + ": unknown fields kept", keptFields.getOrDefault(sink, 0L), fieldsSent);
          check(failed, sink + ": clock-ahead readings kept", aheadKept.getOrDefault(sink, 0L), sent.ahead.get());
        }
        check(failed, sink + ": v2 envelopes", v2Counted.getOrDefault(sink, 0L), sent.v2.get() - (strict ? v2Refused(sent) : 0));
      }
      if (sent.extraFields.get() == 0 || sent.v2.get() == 0 || sent.ahead.get() == 0 || sent.buffered.get() == 0) {
        failed.add("the rollout did not reach every kind of device (sent: " + sent.extraFields + " with extra fields, " + sent.v2
            + " v2, " + sent.ahead + " ahead, " + sent.buffered + " buffered)");
      }
      long oldExpected = sent.buffered.get() - (strict ? sent.bufferedRefused.get() : 0);
      if (r.published() == r.confirmed() && (oldInSearch != oldExpected || oldInStore != oldExpected)) {
        failed.add("readings 3 days old: " + sent.buffered + " sent, " + oldInSearch + " at their time in search, " + oldInStore + " in the store");
      }
      String note = String.format(Locale.ROOT, "%s; at %.0f s %d of %d devices switch firmware: extra top-level fields %d readings,"
              + " v:2 with attributes %d, clock %d min ahead %d, %d-day-old buffered %d (at their own time: search %d, store %d);"
              + " counted elk/storage: unknown fields %s %d/%d, clock ahead %s %d/%d, v2 envelopes %d/%d; dead-lettered %d%s%s",
          strict ? "reject policies" : "default policies", switchAt, switching(), DEVICES, sent.extraFields.get(), sent.v2.get(),
          AHEAD.toMinutes(), sent.ahead.get(), BUFFERED.toDays(), sent.buffered.get(), oldInSearch, oldInStore,
          strict ? "rejected" : "kept", (strict ? rejectedFields : keptFields).getOrDefault("elk", 0L),
          (strict ? rejectedFields : keptFields).getOrDefault("storage", 0L), strict ? "rejected" : "kept", aheadKept.getOrDefault("elk", 0L),
          aheadKept.getOrDefault("storage", 0L), v2Counted.getOrDefault("elk", 0L), v2Counted.getOrDefault("storage", 0L), dlq, reasons,
          failed.isEmpty() ? "" : "; NOT as expected: " + String.join("; ", failed));
      return new ChaosScenarios.Row(name, r.published(), r.confirmed(), es.present(), st.present(), dlq, sent.refused.size(),
          es.lost() + st.lost(), es.duplicates() + st.duplicates(), Double.NaN, Double.NaN, note, "", 0, 0, String.join("; ", failed));
    }
  }

  /** What the new firmware of device {@code t.deviceId()} publishes; which behaviours a device gets follows its number. */
  private static byte[] newFirmware(Telemetry t, io.iotpipe.core.envelope.TelemetryCodec codec, Sent sent) {
    int i = number(t.deviceId());
    Telemetry r = t;
    if (i % 20 == 5) {
      r = at(r, r.ts().minus(BUFFERED));
      sent.buffered.incrementAndGet();
    }
    if (i % 10 == 7) {
      r = at(r, r.ts().plus(AHEAD));
      sent.ahead.incrementAndGet();
    }
    if (i % 6 == 4) {
      // with attributes this pipeline's encoder writes v: 2 (a v2 firmware's vendor fields)
      r = r.withAttributes(Map.of("fw", "3.0.0"));
      sent.v2.incrementAndGet();
    }
    byte[] body = codec.encode(r);
    if (i % 3 == 0) {
      // a v1 envelope with two fields it does not define, where a firmware would put them: first
      String json = new String(body, StandardCharsets.UTF_8);
      body = ("{\"fw\":\"2.4.1\",\"connectorId\":2," + json.substring(1)).getBytes(StandardCharsets.UTF_8);
      sent.extraFields.incrementAndGet();
    }
    if (i % 3 == 0 || i % 10 == 7) {
      sent.refused.add(t.id());
      if (i % 20 == 5) {
        sent.bufferedRefused.incrementAndGet();
      }
      if (i % 6 == 4) {
        sent.v2Refused.incrementAndGet();
      }
    }
    return body;
  }

  private static long v2Refused(Sent sent) {
    return sent.v2Refused.get();
  }

  /** Every confirmed reading of the fleet but those a strict contract refuses. */
  private static Completeness expected(Simulation sim, Sent sent) {
    Completeness c = new Completeness();
    sim.ledger().devices().forEach((d, e) -> {
      for (long seq = 1; seq <= e.confirmed(); seq++) {
        if (!sent.refused.contains(d + ":" + seq)) {
          c.expect(d, seq);
        }
      }
    });
    return c;
  }

  /** How many devices get at least one new behaviour. */
  private static int switching() {
    int n = 0;
    for (int i = 0; i < DEVICES; i++) {
      if (i % 3 == 0 || i % 6 == 4 || i % 10 == 7 || i % 20 == 5) {
        n++;
      }
    }
    return n;
  }

  /** The fleet's device ids end in their number ({@code evc-<run>-<region>-00042}). */
  private static int number(String deviceId) {
    return Integer.parseInt(deviceId.substring(deviceId.lastIndexOf('-') + 1));
  }

  private static Telemetry at(Telemetry t, Instant ts) {
    return new Telemetry(t.deviceId(), t.seq(), ts, t.site(), t.region(), t.status(), t.errorCode(), t.metrics(), t.attributes(),
        t.deviceTs(), t.clockAhead());
  }

  private static void check(List<String> failed, String what, long counted, long expectedAtLeast) {
    if (counted < expectedAtLeast) {
      failed.add(what + ": " + counted + " counted, at least " + expectedAtLeast + " expected");
    }
  }

  /** A contract counter summed per {@code sink} tag, for one value of {@code tag}. */
  private static Map<String, Long> bySink(MeterRegistry registry, String name, String tag, String value) {
    Map<String, Long> out = new TreeMap<>();
    for (Counter c : registry.find(name).tag(tag, value).counters()) {
      out.merge(c.getId().getTag("sink"), (long) c.count(), Long::sum);
    }
    return out;
  }

  /** Event documents with {@code ts} before {@code before}: the buffered readings, in the indices of their days. */
  private static long oldInSearch(IotpipeConfig cfg, Instant before) throws Exception {
    var ix = cfg.indexer();
    try (EsClient es = new EsClient(ix)) {
      String indices = ix.indexPrefix() + "-20*";
      es.sendSync("POST", "/" + indices + "/_refresh", null);
      EsClient.Response resp = es.sendSync("POST", "/" + indices + "/_count?ignore_unavailable=true&allow_no_indices=true",
          "{\"query\":{\"range\":{\"ts\":{\"lt\":\"" + before + "\"}}}}");
      if (resp.status() != 200) {
        throw new IllegalStateException("counting old readings failed: HTTP " + resp.status() + ": " + resp.text());
      }
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body()).path("count").asLong();
    }
  }

  /** Stored rows with {@code ts} before {@code before} (they sit in the {@code date=} partitions of their days). */
  private static long oldInStore(IotpipeConfig cfg, Instant before) {
    try (StoreQuery q = new StoreQuery(cfg.storage().dir())) {
      return ((Number) q.query("SELECT count(*) FROM telemetry WHERE epoch_ms(ts) < " + before.toEpochMilli()
          + " AND CAST(date AS VARCHAR) = strftime(ts, '%Y-%m-%d')").rows().getFirst().getFirst()).longValue();
    }
  }
}
