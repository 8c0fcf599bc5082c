package io.iotpipe.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.elasticsearch.EsClient;
import io.iotpipe.simulator.Ledger;
import io.iotpipe.storage.StoreQuery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads back what each sink holds for the devices of a ledger and compares it with what was confirmed. The search
 * side is read with a composite aggregation on {@code (deviceId, seq)}: exact, paged, and it counts duplicates
 * across indices too (a reading indexed twice into two daily indices would show as two docs).
 */
public final class Auditor {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Auditor() {}

  public static Completeness expected(Ledger ledger) {
    Completeness c = new Completeness();
    ledger.devices().forEach((d, e) -> {
      if (e.confirmed() > 0) {
        c.expectRange(d, 1, e.confirmed());
      }
    });
    return c;
  }

  /** Every (deviceId, seq) in the event indices, for the ledger's devices. */
  public static Completeness.Result search(IndexerConfig cfg, Ledger ledger) {
    Completeness c = expected(ledger);
    try (EsClient es = new EsClient(cfg)) {
      return search(es, cfg, ledger, c);
    }
  }

  private static Completeness.Result search(EsClient es, IndexerConfig cfg, Ledger ledger, Completeness c) {
    scanSearch(es, cfg, null, (d, s, n) -> {
      if (ledger.devices().containsKey(d)) {
        for (long i = 0; i < n; i++) {
          c.observe(d, s);
        }
      }
    });
    return c.result();
  }

  /** One {@code (deviceId, seq)} key of a sink and how many rows or documents hold it. */
  @FunctionalInterface
  interface KeyCount {
    void accept(String deviceId, long seq, long count);
  }

  /**
   * Every {@code (deviceId, seq)} of the event indices with its document count, optionally only documents matching
   * {@code query}: a composite aggregation, paged.
   */
  private static void scanSearch(EsClient es, IndexerConfig cfg, JsonNode query, KeyCount out) {
    String indices = cfg.period() == IndexerConfig.IndexPeriod.NONE ? cfg.indexPrefix() : cfg.indexPrefix() + "-20*";
    es.sendSync("POST", "/" + indices + "/_refresh?ignore_unavailable=true&allow_no_indices=true", null);
    JsonNode after = null;
    while (true) {
      ObjectNode body = JSON.createObjectNode();
      body.put("size", 0);
      if (query != null) {
        body.set("query", query);
      }
      ObjectNode comp = body.putObject("aggs").putObject("ids").putObject("composite");
      comp.put("size", 5000);
      var sources = comp.putArray("sources");
      sources.addObject().putObject("d").putObject("terms").put("field", "deviceId");
      sources.addObject().putObject("s").putObject("terms").put("field", "seq");
      if (after != null) {
        comp.set("after", after);
      }
      EsClient.Response r = es.sendSync("POST", "/" + indices + "/_search?ignore_unavailable=true&allow_no_indices=true", body.toString());
      if (r.status() != 200) {
        throw new IllegalStateException("audit query failed: HTTP " + r.status() + ": " + r.text());
      }
      JsonNode agg;
      try {
        agg = JSON.readTree(r.body()).path("aggregations").path("ids");
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
      JsonNode buckets = agg.path("buckets");
      for (JsonNode b : buckets) {
        out.accept(b.path("key").path("d").asText(), b.path("key").path("s").asLong(), b.path("doc_count").asLong());
      }
      if (buckets.size() < 5000 || agg.path("after_key").isMissingNode()) {
        break;
      }
      after = agg.path("after_key");
    }
  }

  /**
   * The two sinks against each other, without a ledger (see {@link #sinks}).
   *
   * @param inStore            distinct readings the store holds in the window
   * @param inSearch           distinct readings the event indices hold in the window
   * @param onlyInStore        readings missing from the search engine ({@code iotpipe reindex} mends them)
   * @param onlyInSearch       readings missing from the store (dead-lettered or lost by the store only, or not yet committed)
   * @param duplicatesInStore  extra rows of a reading in the store (must be 0)
   * @param duplicatesInSearch extra documents of a reading in the event indices (must be 0)
   * @param onlyInStoreExamples  up to ten as {@code deviceId:seq}
   * @param onlyInSearchExamples up to ten as {@code deviceId:seq}
   */
  public record Agreement(long inStore, long inSearch, long onlyInStore, long onlyInSearch, long duplicatesInStore,
                          long duplicatesInSearch, List<String> onlyInStoreExamples, List<String> onlyInSearchExamples) {
    public boolean agree() {
      return onlyInStore == 0 && onlyInSearch == 0 && duplicatesInStore == 0 && duplicatesInSearch == 0;
    }
  }

  /**
   * Compares the readings of the store and of the event indices whose event time lies in {@code [since, until)}
   * (either may be null: unbounded), by {@code (deviceId, seq)}: where no ledger of confirmed readings exists (a real
   * fleet), the sinks are each other's check. A bitset per device and sink, so millions of readings fit. Readings of
   * the last {@code storage.rollAge} may not be committed to the store yet: audit closed windows. Under
   * {@code contract.futureTimestamps: receive-time} the two sinks' {@code ts} of a reading differ by milliseconds, which
   * can put it on different sides of a window's edge.
   */
  public static Agreement sinks(IndexerConfig cfg, Path store, Instant since, Instant until) {
    Map<String, BitSet> inStore = new HashMap<>();
    Map<String, BitSet> inSearch = new HashMap<>();
    long[] dups = new long[2];
    if (Files.isDirectory(store)) {
      StringBuilder where = new StringBuilder(" WHERE true");
      if (since != null) {
        where.append(" AND epoch_ms(ts) >= ").append(since.toEpochMilli());
      }
      if (until != null) {
        where.append(" AND epoch_ms(ts) < ").append(until.toEpochMilli());
      }
      try (StoreQuery q = new StoreQuery(store); Statement s = q.connection().createStatement();
           ResultSet rs = s.executeQuery("SELECT device_id, seq, count(*) FROM telemetry" + where + " GROUP BY ALL")) {
        while (rs.next()) {
          inStore.computeIfAbsent(rs.getString(1), d -> new BitSet()).set(index(rs.getLong(2)));
          dups[0] += rs.getLong(3) - 1;
        }
      } catch (IllegalStateException empty) {
        // no committed file yet: the store holds nothing, which the comparison says
      } catch (java.sql.SQLException e) {
        throw new IllegalStateException("cannot read the store " + store + ": " + e.getMessage(), e);
      }
    }
    ObjectNode range = JSON.createObjectNode();
    ObjectNode ts = range.putObject("range").putObject("ts");
    if (since != null) {
      ts.put("gte", since.toString());
    }
    if (until != null) {
      ts.put("lt", until.toString());
    }
    try (EsClient es = new EsClient(cfg)) {
      scanSearch(es, cfg, since == null && until == null ? null : range, (d, s, n) -> {
        inSearch.computeIfAbsent(d, k -> new BitSet()).set(index(s));
        dups[1] += n - 1;
      });
    }
    List<String> onlyStoreEx = new ArrayList<>();
    List<String> onlySearchEx = new ArrayList<>();
    long onlyStore = missing(inStore, inSearch, onlyStoreEx);
    long onlySearch = missing(inSearch, inStore, onlySearchEx);
    return new Agreement(count(inStore), count(inSearch), onlyStore, onlySearch, dups[0], dups[1], onlyStoreEx, onlySearchEx);
  }

  private static int index(long seq) {
    if (seq < 1 || seq > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("seq out of auditable range: " + seq);
    }
    return (int) seq;
  }

  /** Readings of {@code a} that {@code b} lacks, with up to ten examples. */
  private static long missing(Map<String, BitSet> a, Map<String, BitSet> b, List<String> examples) {
    long n = 0;
    for (var e : new java.util.TreeMap<>(a).entrySet()) {
      BitSet m = (BitSet) e.getValue().clone();
      BitSet other = b.get(e.getKey());
      if (other != null) {
        m.andNot(other);
      }
      n += m.cardinality();
      for (int i = m.nextSetBit(0); i >= 0 && examples.size() < 10; i = m.nextSetBit(i + 1)) {
        examples.add(e.getKey() + ":" + i);
      }
    }
    return n;
  }

  private static long count(Map<String, BitSet> keys) {
    return keys.values().stream().mapToLong(BitSet::cardinality).sum();
  }

  /**
   * Every {@code (deviceId, seq)} of the event indices observed into {@code expected}, whatever the device: for a run
   * whose expectation is not a whole ledger (readings a strict contract refuses on purpose are left out of it).
   */
  public static Completeness.Result search(IndexerConfig cfg, Completeness expected) {
    try (EsClient es = new EsClient(cfg)) {
      scanSearch(es, cfg, null, (d, s, n) -> {
        for (long i = 0; i < n; i++) {
          expected.observe(d, s);
        }
      });
    }
    return expected.result();
  }

  /** Every row of the store observed into {@code expected}, whatever the device (see {@link #search(IndexerConfig, Completeness)}). */
  public static Completeness.Result store(Path dir, Completeness expected) {
    if (!Files.isDirectory(dir)) {
      return expected.result();
    }
    try (StoreQuery q = new StoreQuery(dir); Statement s = q.connection().createStatement();
         ResultSet rs = s.executeQuery("SELECT device_id, seq, count(*) FROM telemetry GROUP BY ALL")) {
      while (rs.next()) {
        for (long i = 0; i < rs.getLong(3); i++) {
          expected.observe(rs.getString(1), rs.getLong(2));
        }
      }
    } catch (IllegalStateException empty) {
      // no files yet: everything is missing, which the result says
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot read the store: " + e.getMessage(), e);
    }
    return expected.result();
  }

  /** Every row in the store's Parquet files, for the ledger's devices. */
  public static Completeness.Result store(Path dir, Ledger ledger) {
    Completeness c = expected(ledger);
    if (!Files.isDirectory(dir)) {
      return c.result();
    }
    try (StoreQuery q = new StoreQuery(dir); Statement s = q.connection().createStatement();
         ResultSet rs = s.executeQuery("SELECT device_id, seq, count(*) FROM telemetry GROUP BY ALL")) {
      while (rs.next()) {
        String d = rs.getString(1);
        if (ledger.devices().containsKey(d)) {
          for (long i = 0; i < rs.getLong(3); i++) {
            c.observe(d, rs.getLong(2));
          }
        }
      }
    } catch (IllegalStateException empty) {
      // no files yet: everything is missing, which the result says
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot read the store: " + e.getMessage(), e);
    }
    return c.result();
  }

  public static Map<String, Object> toJson(Completeness.Result r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("expected", r.expected());
    m.put("present", r.present());
    m.put("lost", r.lost());
    m.put("duplicates", r.duplicates());
    m.put("unconfirmedPresent", r.unconfirmed());
    m.put("devicesWithGaps", r.devicesWithGaps());
    m.put("missingExamples", r.examples());
    return m;
  }
}
