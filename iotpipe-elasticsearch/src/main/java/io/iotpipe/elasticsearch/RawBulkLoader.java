package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.sink.Outcome;
import io.iotpipe.core.envelope.Telemetry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * The "engine alone" baseline of {@code iotpipe bench index}: the same documents, the same bulk size and pipelining
 * as the sink, from memory, with no broker involved — and the same engine work: when {@code indexer.latestState} is
 * on, each bulk also carries one latest-state document per device (its highest seq), as the sink's bulks do.
 */
public final class RawBulkLoader {

  private static final ObjectMapper JSON = new ObjectMapper();

  private RawBulkLoader() {}

  /**
   * Indexes {@code docs} in bulks of {@code bulkSize} with up to {@code cfg.maxInFlight()} bulks in flight; returns
   * documents per second. Throws if the engine is unreachable or refuses any document: a baseline that silently
   * dropped documents would flatter the engine.
   */
  public static double load(IndexerConfig cfg, List<Telemetry> docs, int bulkSize) {
    try (EsClient client = new EsClient(cfg)) {
      IndexSetup.apply(client, cfg);
      DocumentEncoder enc = new DocumentEncoder(cfg);
      Semaphore inFlight = new Semaphore(cfg.maxInFlight());
      List<CompletableFuture<?>> all = new ArrayList<>();
      long start = System.nanoTime();
      for (int from = 0; from < docs.size(); from += bulkSize) {
        DocumentEncoder.Bulk body = enc.bulk(bulkSize * 400, System.currentTimeMillis());
        List<Telemetry> chunk = docs.subList(from, Math.min(docs.size(), from + bulkSize));
        java.util.Map<String, Telemetry> latest = new java.util.LinkedHashMap<>();
        for (Telemetry t : chunk) {
          body.event(t);
          if (cfg.latestState()) {
            latest.merge(t.deviceId(), t, (a, b) -> a.seq() >= b.seq() ? a : b);
          }
        }
        latest.values().forEach(body::latest);
        body.finish();
        int events = chunk.size();
        inFlight.acquireUninterruptibly();
        all.add(client.send("POST", ElasticsearchSink.BULK_PATH, body.array(), body.length(), "application/x-ndjson")
            .whenComplete((r, e) -> inFlight.release())
            .thenAccept(r -> check(r, events)));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
      return docs.size() / ((System.nanoTime() - start) / 1e9);
    }
  }

  /** Every item must have succeeded; items after the first {@code events} are latest-state updates (a 409 is fine). */
  private static void check(EsClient.Response r, int events) {
    if (r.status() != 200) {
      throw new IllegalStateException("bulk failed with HTTP " + r.status() + ": " + r.text());
    }
    try {
      JsonNode root = JSON.readTree(r.body());
      if (root.path("errors").asBoolean(true)) {
        int k = 0;
        for (JsonNode item : root.path("items")) {
          Outcome o = BulkOutcomes.item(item, k++ >= events);
          if (o != Outcome.DELIVERED) {
            throw new IllegalStateException("bulk item failed: " + o);
          }
        }
      }
    } catch (java.io.IOException e) {
      throw new IllegalStateException("unreadable bulk response", e);
    }
  }
}
