package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.envelope.Telemetry;
import io.iotpipe.sink.Outcome;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * Decides the records whose {@code create} met an existing document: the stored document is fetched ({@code _mget},
 * one request for all conflicts of a bulk) and compared with the reading we tried to write. The same reading is a
 * redelivery and counts as delivered; a different reading under the same {@code (deviceId, seq)} is rejected with
 * the reason, so the first one stays and the second goes to the dead-letter queue, as in the storage sink.
 */
final class Conflicts {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Only what the comparison needs comes back. */
  static final String MGET_PATH = "/_mget?filter_path=docs._id,docs.found,docs._source,docs.error";

  private Conflicts() {}

  /** The {@code _mget} body fetching the stored documents of {@code tried}, in order. */
  static byte[] mgetBody(DocumentEncoder encoder, List<Telemetry> tried) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode docs = root.putArray("docs");
    for (Telemetry t : tried) {
      docs.addObject().put("_index", encoder.indexFor(t)).put("_id", t.id());
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One outcome per reading of {@code tried}, from the {@code _mget} answer (or its failure). */
  static List<Outcome> resolve(List<Telemetry> tried, EsClient.Response resp, Throwable err, Function<Throwable, String> describe) {
    if (err != null) {
      return all(tried, "search engine unreachable while checking an already indexed reading: " + describe.apply(err));
    }
    if (resp.status() != 200) {
      return all(tried, "checking already indexed readings failed with HTTP " + resp.status());
    }
    JsonNode docs;
    try {
      docs = JSON.readTree(resp.body()).path("docs");
    } catch (IOException e) {
      return all(tried, "unreadable _mget response: " + e.getMessage());
    }
    if (docs.size() != tried.size()) {
      return all(tried, "_mget returned " + docs.size() + " documents, expected " + tried.size());
    }
    List<Outcome> out = new ArrayList<>(tried.size());
    for (int k = 0; k < tried.size(); k++) {
      Telemetry t = tried.get(k);
      JsonNode doc = docs.get(k);
      String key = "(deviceId " + t.deviceId() + ", seq " + t.seq() + ")";
      if (doc.has("error")) {
        out.add(Outcome.retry("reading " + key + " exists but could not be fetched: " + doc.path("error").path("reason").asText()));
      } else if (!doc.path("found").asBoolean(false)) {
        // Deleted between the create and the fetch (retention, an operator): writing it again is right.
        out.add(Outcome.retry("reading " + key + " conflicted but is no longer stored; writing it again"));
      } else {
        String diff = DocumentEncoder.difference(doc.path("_source"), t);
        out.add(diff == null ? Outcome.DELIVERED
            : Outcome.reject(key + " already indexed with different content; kept the first (they differ in " + diff + ")"));
      }
    }
    return out;
  }

  private static List<Outcome> all(List<Telemetry> tried, String reason) {
    return Collections.nCopies(tried.size(), Outcome.retry(reason));
  }
}
