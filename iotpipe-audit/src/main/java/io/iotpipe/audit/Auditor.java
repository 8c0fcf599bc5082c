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
import java.util.LinkedHashMap;
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
    String indices = cfg.period() == IndexerConfig.IndexPeriod.NONE ? cfg.indexPrefix() : cfg.indexPrefix() + "-20*";
    es.sendSync("POST", "/" + indices + "/_refresh", null);
    JsonNode after = null;
    while (true) {
      ObjectNode body = JSON.createObjectNode();
      body.put("size", 0);
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
        String d = b.path("key").path("d").asText();
        if (ledger.devices().containsKey(d)) {
          long s = b.path("key").path("s").asLong();
          for (long i = 0; i < b.path("doc_count").asLong(); i++) {
            c.observe(d, s);
          }
        }
      }
      if (buckets.size() < 5000 || agg.path("after_key").isMissingNode()) {
        break;
      }
      after = agg.path("after_key");
    }
    return c.result();
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
