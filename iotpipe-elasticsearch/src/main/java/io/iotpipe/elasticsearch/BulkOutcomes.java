package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.core.sink.Outcome;

/**
 * Reads a {@code _bulk} response item by item. Only a {@code 400} is the document's own fault (mapping or parse
 * rejection): it goes to the dead-letter queue with the engine's reason. Everything else (429 back-pressure, 5xx,
 * read-only index blocks, security errors, missing index with auto-create off) is the environment's fault: retried
 * with backoff until an operator or the engine fixes it, never dropped.
 */
final class BulkOutcomes {

  private BulkOutcomes() {}

  static Outcome item(JsonNode item, boolean latest) {
    JsonNode action = item.elements().hasNext() ? item.elements().next() : item;
    int status = action.path("status").asInt(0);
    if (status >= 200 && status < 300) {
      return Outcome.DELIVERED;
    }
    JsonNode err = action.path("error");
    String type = err.path("type").asText("error");
    String reason = type + ": " + err.path("reason").asText("status " + status);
    JsonNode cause = err.path("caused_by");
    if (!cause.isMissingNode()) {
      reason += " (" + cause.path("type").asText() + ": " + cause.path("reason").asText() + ")";
    }
    if (latest && status == 409) {
      // The latest-state index already holds a newer (or the same) seq: exactly what external versioning is for.
      return Outcome.DELIVERED;
    }
    if (status == 400) {
      return Outcome.reject("rejected by the search engine: " + reason);
    }
    return Outcome.retry("search engine answered " + status + ": " + reason);
  }

  /** A whole-request status other than 200. */
  static Outcome request(int status, String body) {
    String head = body.length() > 300 ? body.substring(0, 300) + "..." : body;
    return Outcome.retry("bulk request failed with HTTP " + status + ": " + head);
  }
}
