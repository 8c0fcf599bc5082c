package io.iotpipe.elasticsearch;

import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.envelope.Telemetry;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * The "engine alone" baseline of {@code iotpipe bench index}: the same documents, the same bulk size and pipelining
 * as the sink, from memory, with no broker involved.
 */
public final class RawBulkLoader {

  private RawBulkLoader() {}

  /** Indexes {@code docs} in bulks of {@code bulkSize}; returns documents per second. */
  public static double load(IndexerConfig cfg, List<Telemetry> docs, int bulkSize) {
    EsClient client = new EsClient(cfg);
    IndexSetup.apply(client, cfg);
    DocumentEncoder enc = new DocumentEncoder(cfg);
    Semaphore inFlight = new Semaphore(cfg.maxInFlight());
    List<CompletableFuture<?>> all = new ArrayList<>();
    long start = System.nanoTime();
    for (int from = 0; from < docs.size(); from += bulkSize) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      long now = System.currentTimeMillis();
      for (Telemetry t : docs.subList(from, Math.min(docs.size(), from + bulkSize))) {
        enc.appendEvent(body, t, now);
      }
      inFlight.acquireUninterruptibly();
      all.add(client.send("POST", "/_bulk", body.toByteArray(), "application/x-ndjson").whenComplete((r, e) -> {
        inFlight.release();
        if (e != null || r.status() != 200) {
          throw new IllegalStateException("bulk failed: " + (e != null ? e : r.status()));
        }
      }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    return docs.size() / ((System.nanoTime() - start) / 1e9);
  }
}
