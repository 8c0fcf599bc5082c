package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.sink.Outcome;
import io.iotpipe.core.envelope.Telemetry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * The "engine alone" baseline of {@code iotpipe bench index}: the same documents, the same bulk size and pipelining
 * as the sink, from memory, with no broker involved.
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
        for (Telemetry t : docs.subList(from, Math.min(docs.size(), from + bulkSize))) {
          body.event(t);
        }
        body.finish();
        inFlight.acquireUninterruptibly();
        all.add(client.send("POST", ElasticsearchSink.BULK_PATH, body.array(), body.length(), "application/x-ndjson")
            .whenComplete((r, e) -> inFlight.release())
            .thenAccept(RawBulkLoader::check));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
      return docs.size() / ((System.nanoTime() - start) / 1e9);
    }
  }

  private static void check(EsClient.Response r) {
    if (r.status() != 200) {
      throw new IllegalStateException("bulk failed with HTTP " + r.status() + ": " + r.text());
    }
    try {
      JsonNode root = JSON.readTree(r.body());
      if (root.path("errors").asBoolean(true)) {
        for (JsonNode item : root.path("items")) {
          Outcome o = BulkOutcomes.item(item, false);
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
