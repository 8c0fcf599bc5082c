package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import io.iotpipe.sink.Outcome;
import java.util.Set;

/**
 * Reads a {@code _bulk} response item by item. Only a {@code 400} is the document's own fault (mapping or parse
 * rejection: {@code mapper_parsing_exception}, {@code document_parsing_exception},
 * {@code strict_dynamic_mapping_exception}, {@code illegal_argument_exception}): it goes to the dead-letter queue
 * with the engine's reason. Everything else (429 back-pressure, 5xx, read-only index blocks, security errors,
 * missing index with auto-create off) is the environment's fault: retried with backoff until an operator or the
 * engine fixes it, never dropped.
 */
final class BulkOutcomes {

  /** Error types that mean "not now" even if an engine version reports them with status 400. */
  private static final Set<String> TRANSIENT = Set.of("es_rejected_execution_exception", "rejected_execution_exception",
      "circuit_breaking_exception", "cluster_block_exception", "unavailable_shards_exception", "process_cluster_event_timeout_exception",
      "node_closed_exception", "no_shard_available_action_exception");

  private BulkOutcomes() {}

  static Outcome item(JsonNode item, boolean latest) {
    // An item is {"index": {...}} (or create/update/delete): its only field holds the result.
    JsonNode action = item.elements().hasNext() ? item.elements().next() : item;
    int status = action.path("status").asInt(0);
    if (status >= 200 && status < 300) {
      return Outcome.DELIVERED;
    }
    if (latest && status == 409) {
      // The latest-state index already holds a newer (or the same) seq: exactly what external versioning is for.
      return Outcome.DELIVERED;
    }
    JsonNode err = action.path("error");
    String type = err.path("type").asText("error");
    String reason = type + ": " + err.path("reason").asText("status " + status);
    JsonNode cause = err.path("caused_by");
    if (cause.isObject()) {
      reason += " (caused by " + cause.path("type").asText() + ": " + cause.path("reason").asText() + ")";
    }
    if (status == 400 && !TRANSIENT.contains(type)) {
      return Outcome.reject(reason);
    }
    return Outcome.retry("search engine answered " + status + " for the document: " + reason);
  }

  /**
   * An event item refused because its id exists ({@code create} on an existing document): a redelivery of the same
   * reading or a different reading under the same {@code (deviceId, seq)}; only the stored content can tell which.
   */
  static boolean isConflict(JsonNode item) {
    JsonNode action = item.elements().hasNext() ? item.elements().next() : item;
    return action.path("status").asInt(0) == 409;
  }

  /**
   * A whole-request status other than 200: the engine or a proxy refused the bulk as a whole, no record is at fault.
   * 401/403 name the credentials, so that nobody goes looking for bad data; 413 is handled before this by splitting
   * the bulk (see {@link BulkSizer}) and only reaches here for the unit tests' view of a single response.
   */
  static Outcome request(int status, String body) {
    String head = body.length() > 300 ? body.substring(0, 300) + "..." : body;
    if (refusesCredentials(status)) {
      return Outcome.retry(credentials(status) + ": " + head);
    }
    return Outcome.retry("bulk request failed with HTTP " + status + ": " + head);
  }

  /** 401 (who are you?) and 403 (not allowed) to a whole request: the indexer's credentials or role, never the data. */
  static boolean refusesCredentials(int status) {
    return status == 401 || status == 403;
  }

  /** The body was too large for the engine ({@code http.max_content_length}) or a proxy in front of it. */
  static boolean tooLarge(int status) {
    return status == 413;
  }

  /** What to tell an operator about a refused login, without any secret. */
  static String credentials(int status) {
    return "search engine refused the indexer's credentials (HTTP " + status + (status == 401 ? " Unauthorized" : " Forbidden")
        + "): check indexer.username / indexer.password or indexer.apiKey and the user's rights to write the indices;"
        + " nothing is dead-lettered, writes are retried";
  }

  /** The reason a document that can never fit is dead-lettered with. */
  static String documentTooLarge(String id, boolean latestState, long bodyBytes) {
    return (latestState ? "latest-state document of " + id + " (its event is indexed)" : "document " + id)
        + " is too large for the search engine: a bulk holding only it (" + bodyBytes + " bytes) was refused with HTTP 413"
        + " Request Entity Too Large; raise the engine's http.max_content_length or the proxy's body limit, or shrink the reading";
  }
}
