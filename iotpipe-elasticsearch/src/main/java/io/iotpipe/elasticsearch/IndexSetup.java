package io.iotpipe.elasticsearch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.iotpipe.core.config.IndexerConfig;
import io.iotpipe.core.retry.Backoff;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Index management, applied idempotently before the first bulk: an index template with explicit mappings for the
 * event indices (so the first document of a day cannot guess types wrong: {@code ts} is a {@code date}, ids are
 * {@code keyword}, every metric a {@code double}), and the latest-state index with the same mappings.
 *
 * <p>A reading's {@code attributes} (the unknown fields the contract kept) are device-chosen names: mapped as
 * ordinary object fields, every new name a firmware invents would add a field to the mapping of every index until the
 * engine's field limit refuses documents. They are therefore one field whatever their names: {@code flattened}
 * (Elasticsearch 7.3+) or {@code flat_object} (OpenSearch 2.7+), where every value is a searchable keyword
 * ({@code attributes.fw: "2.4.1"}); on older engines an unindexed object, kept in {@code _source} only.
 */
public final class IndexSetup {

  private static final Logger LOG = LoggerFactory.getLogger(IndexSetup.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private IndexSetup() {}

  /** The engine refused the credentials or the rights of the indexer's user (401/403): an operator must act. */
  public static final class CredentialsRefused extends IllegalStateException {
    CredentialsRefused(String message) {
      super(message);
    }
  }

  /** What the engine said about itself. */
  public record Engine(String distribution, String version) {
    public boolean openSearch() {
      return distribution.equalsIgnoreCase("opensearch");
    }
  }

  /**
   * What the engine says it is ({@code GET /}: {@code version.distribution}, absent on Elasticsearch). Throws
   * {@link CredentialsRefused} ending with {@code credentialsFix} when the engine refuses the client's credentials.
   */
  public static Engine detect(EsClient client, String credentialsFix) {
    EsClient.Response root = client.sendSync("GET", "/", null);
    if (BulkOutcomes.refusesCredentials(root.status())) {
      throw new CredentialsRefused("the search engine refused the credentials (HTTP " + root.status() + "): " + credentialsFix);
    }
    boolean noRootHandler = root.status() == 404 || root.status() == 405;
    if (noRootHandler) {
      // Minimal distributions (Elasticsearch's integ-test zip) have no handler for GET /: ask the node itself.
      // (OpenSearch's integ-test zip has one, so a distribution missing here is Elasticsearch.)
      root = client.sendSync("GET", "/_nodes/_local?filter_path=nodes.*.version", null);
    }
    if (root.status() >= 300) {
      throw new EsClient.EsUnavailableException("search engine answered HTTP " + root.status() + " to GET /", null);
    }
    try {
      JsonNode body = JSON.readTree(root.body());
      JsonNode v = noRootHandler
          ? JSON.createObjectNode().put("number", body.path("nodes").elements().hasNext() ? body.path("nodes").elements().next().path("version").asText("?") : "?")
          : body.path("version");
      return new Engine(v.path("distribution").asText("elasticsearch"), v.path("number").asText("?"));
    } catch (java.io.IOException e) {
      throw new IllegalStateException("GET / did not return JSON: is indexer.urls an Elasticsearch/OpenSearch endpoint?");
    }
  }

  /**
   * {@link #apply(EsClient, IndexerConfig)}, retried with backoff while the engine is unreachable or answers 5xx
   * (it is starting, or restarting with the indexer): gives up with the last error after {@code timeout}. Wrong
   * credentials or a refused template fail at once: waiting would not fix them.
   */
  public static Engine apply(EsClient client, IndexerConfig cfg, Duration timeout) {
    Backoff backoff = cfg.consumer().backoff();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        return apply(client, cfg);
      } catch (EsClient.EsUnavailableException e) {
        Duration delay = backoff.delay(attempt);
        if (System.nanoTime() + delay.toNanos() - deadline > 0) {
          throw e;
        }
        LOG.info("search engine not ready ({}); index setup again in {} ms", e.getMessage(), delay.toMillis());
        try {
          Thread.sleep(delay);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** Detects the engine and applies template and latest-state index once; throws if the engine is unreachable. */
  public static Engine apply(EsClient client, IndexerConfig cfg) {
    long t0 = System.nanoTime();
    Engine engine = detect(client, "check indexer.username / indexer.password (or indexer.apiKey)");
    String pattern = cfg.period() == IndexerConfig.IndexPeriod.NONE ? cfg.indexPrefix() : cfg.indexPrefix() + "-20*";
    ObjectNode composable = JSON.createObjectNode();
    composable.putArray("index_patterns").add(pattern);
    composable.put("priority", 200);
    ObjectNode template = composable.putObject("template");
    template.set("settings", settings(cfg));
    template.set("mappings", mappings(engine));
    EsClient.Response r = client.sendSync("PUT", "/_index_template/" + cfg.indexPrefix(), composable.toString());
    boolean legacyOnly = r.status() == 404 || r.status() == 405 || (r.status() == 400 && r.text().contains("no handler"));
    if (legacyOnly) {
      // Elasticsearch < 7.8 has only legacy templates.
      ObjectNode legacy = JSON.createObjectNode();
      legacy.putArray("index_patterns").add(pattern);
      legacy.put("order", 200);
      legacy.set("settings", settings(cfg));
      legacy.set("mappings", mappings(engine));
      r = client.sendSync("PUT", "/_template/" + cfg.indexPrefix(), legacy.toString());
    }
    check(r, "index template " + cfg.indexPrefix());
    if (cfg.latestState() && !legacyOnly) {
      // Tenants' latest-state indices appear with their tenant's first reading: a template gives them the mappings.
      // Its own template (not a second pattern on the events' one): a rebuild with --index-suffix puts the events'
      // template again with its own latest-state name, and would drop a pattern it does not know of. (Engines with
      // legacy templates only, before Elasticsearch 7.8, map a tenant's latest-state index dynamically.)
      ObjectNode tenantsLatest = JSON.createObjectNode();
      tenantsLatest.putArray("index_patterns").add(TenantIndices.latestPattern(cfg));
      tenantsLatest.put("priority", 200);
      ObjectNode t = tenantsLatest.putObject("template");
      t.set("settings", settings(cfg));
      t.set("mappings", mappings(engine));
      check(client.sendSync("PUT", "/_index_template/" + cfg.latestIndex() + "-tenants", tenantsLatest.toString()),
          "index template " + cfg.latestIndex() + "-tenants");
    }
    if (cfg.latestState()) {
      ObjectNode latest = JSON.createObjectNode();
      latest.set("settings", settings(cfg));
      latest.set("mappings", mappings(engine));
      r = client.sendSync("PUT", "/" + cfg.latestIndex(), latest.toString());
      // After `reindex --switch` the latest-state name is an alias of the rebuilt index, which takes the writes.
      if (!latestExists(r)) {
        check(r, "latest-state index " + cfg.latestIndex());
      }
    }
    addContractFields(client, cfg, pattern, engine);
    LOG.info("search engine {} {} at {}: template {} for {} and index {} in place ({} ms)", engine.distribution(), engine.version(),
        client.urls(), cfg.indexPrefix(), pattern, cfg.latestState() ? cfg.latestIndex() : "(no latest-state index)", (System.nanoTime() - t0) / 1_000_000);
    return engine;
  }

  /** The answer to creating the latest-state index says it is there already, as an index or as an alias of one. */
  static boolean latestExists(EsClient.Response r) {
    return r.status() == 400 && (r.text().contains("resource_already_exists_exception") || r.text().contains("already exists as alias"));
  }

  private static void check(EsClient.Response r, String what) {
    if (r.status() >= 500 || r.status() == 429) {
      throw new EsClient.EsUnavailableException("creating " + what + ": HTTP " + r.status(), null);
    }
    if (BulkOutcomes.refusesCredentials(r.status())) {
      throw new CredentialsRefused("creating " + what + ": the search engine refused the indexer's credentials or rights (HTTP "
          + r.status() + "): check indexer.username / indexer.password (or indexer.apiKey) and the user's index privileges");
    }
    if (r.status() >= 300) {
      throw new IllegalStateException("creating " + what + " failed: HTTP " + r.status() + ": " + r.text());
    }
  }

  static ObjectNode settings(IndexerConfig cfg) {
    ObjectNode s = JSON.createObjectNode();
    s.put("number_of_shards", cfg.shards());
    s.put("number_of_replicas", cfg.replicas());
    // Telemetry is searched seconds after the fact, not milliseconds: a longer refresh is much cheaper to index.
    s.put("refresh_interval", "5s");
    return s;
  }

  /**
   * Indices created before the contract's fields existed (today's event index, the latest-state index) get them
   * added, so a reading with attributes does not map them dynamically there, one field per name. Adding fields to a
   * mapping is always allowed; where one is already mapped otherwise, the engine refuses and we say so (the next
   * day's index has the template's mapping).
   */
  private static void addContractFields(EsClient client, IndexerConfig cfg, String pattern, Engine engine) {
    ObjectNode body = JSON.createObjectNode();
    contractFields(body.putObject("properties"), engine);
    String targets = cfg.latestState() ? pattern + "," + cfg.latestIndex() : pattern;
    EsClient.Response r = client.sendSync("PUT", "/" + targets + "/_mapping?allow_no_indices=true&ignore_unavailable=true", body.toString());
    if (r.status() >= 300) {
      LOG.warn("could not add attributes, deviceTs and clockAhead to the mappings of existing indices {} (HTTP {}): {}",
          targets, r.status(), r.text().length() > 300 ? r.text().substring(0, 300) : r.text());
    }
  }

  /** The fields of the contract's decisions: attributes (one field whatever the names), deviceTs, clockAhead. */
  static void contractFields(ObjectNode p, Engine engine) {
    p.set("attributes", attributesMapping(engine));
    p.putObject("tenant").put("type", "keyword");
    p.putObject("deviceTs").put("type", "date");
    p.putObject("clockAhead").put("type", "boolean");
  }

  /** {@code flattened}, {@code flat_object} or an unindexed object, as the engine supports (see the class comment). */
  static ObjectNode attributesMapping(Engine engine) {
    ObjectNode a = JSON.createObjectNode();
    boolean opensearch = engine != null && engine.openSearch();
    int[] v = engine == null ? new int[] {0, 0} : version(engine.version());
    if (opensearch && (v[0] > 2 || v[0] == 2 && v[1] >= 7)) {
      a.put("type", "flat_object");
    } else if (!opensearch && engine != null && (v[0] > 7 || v[0] == 7 && v[1] >= 3)) {
      a.put("type", "flattened");
      a.put("ignore_above", 256);
    } else {
      a.put("type", "object");
      a.put("enabled", false);
    }
    return a;
  }

  /** Major and minor of {@code 8.19.4}; 0 for what is not a number. */
  private static int[] version(String text) {
    String[] parts = text == null ? new String[0] : text.split("[.-]");
    int[] v = new int[2];
    for (int i = 0; i < 2 && i < parts.length; i++) {
      try {
        v[i] = Integer.parseInt(parts[i]);
      } catch (NumberFormatException e) {
        v[i] = 0;
      }
    }
    return v;
  }

  static ObjectNode mappings(Engine engine) {
    ObjectNode m = JSON.createObjectNode();
    ObjectNode metric = m.putArray("dynamic_templates").addObject().putObject("metrics_as_double");
    metric.put("path_match", "metrics.*");
    metric.putObject("mapping").put("type", "double");
    ObjectNode p = m.putObject("properties");
    p.putObject("ts").put("type", "date");
    p.putObject("ingestTs").put("type", "date");
    for (String k : new String[] {"deviceId", "site", "region", "status", "errorCode"}) {
      p.putObject(k).put("type", "keyword");
    }
    p.putObject("seq").put("type", "long");
    p.putObject("metrics").put("type", "object");
    contractFields(p, engine);
    return m;
  }
}
